package localcluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one component of the cluster, running as a child process with
// its output in its own log file.
type process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Log  string `json:"log"`

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited (children only)
	err    error         // its exit status, once exited is closed
}

// startProcess starts bin with args, writing its output to logDir/name.log.
// Detached processes get their own session and outlive the caller (for
// `localcluster up`); the others die with the caller.
func startProcess(name, bin string, args []string, logDir string, detach bool) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// A test binary killed by its timeout must not leave a control
		// plane behind.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{Name: name, PID: cmd.Process.Pid, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the process is gone, with its exit error.
func (p *process) hasExited() (bool, error) {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true, p.err
		default:
			return false, nil
		}
	}
	return !pidAlive(p.PID), nil
}

// stop ends the process: SIGTERM, then SIGKILL after grace. It returns once
// the process is gone.
func (p *process) stop(grace time.Duration) error {
	if gone, _ := p.hasExited(); gone {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	if p.waitGone(grace) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	if p.waitGone(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.PID)
}

func (p *process) waitGone(d time.Duration) bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true
		case <-time.After(d):
			return false
		}
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !pidAlive(p.PID) {
			return true
		}
		time.Sleep(50 * time.Millisecond) // polling a PID that is not our child
	}
	return !pidAlive(p.PID)
}

// pidAlive reports whether a process with this PID exists and is not a
// zombie waiting to be reaped.
func pidAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' && i+2 < len(stat) {
			return stat[i+2] != 'Z'
		}
	}
	return true
}

// freePort finds an unused TCP port on 127.0.0.1, below the kernel's
// ephemeral range. The components bind their ports seconds after they are
// chosen, and a port from that range (what listening on port 0 gives) may
// meanwhile become the local end of any outgoing connection, or another
// test's listener: kube-scheduler then fails with "address already in
// use". Below the range only another chooser like this one can take it.
func freePort() (int, error) {
	low := ephemeralLow()
	const first = 20000
	if low-first < 1000 {
		return anyPort()
	}
	for range 100 {
		port := first + rand.IntN(low-first)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return anyPort()
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768 // Linux's default
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 32768
	}
	return low
}

// anyPort asks the kernel for an unused port.
func anyPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
