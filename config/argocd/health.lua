-- Argo CD health of a Ramp Rollout (rollouts.ramp.dev). Add it to
-- argocd-cm under resource.customizations.health.ramp.dev_Rollout; see
-- docs/gitops.md.
--
-- It reads the conditions the controller keeps for this purpose
-- (observedGeneration, Stalled, Paused, Ready, Reconciling) and nothing
-- else, so that Argo CD, Flux and kstatus agree on every phase:
--   not yet observed, or rolling out      Progressing
--   a canary held at a pause step         Suspended
--   rolled back, or the spec at fault     Degraded
--   the stable version at full scale      Healthy
-- Argo CD runs it without the string library: only operators and the
-- base and table functions are used.

local hs = { status = "Progressing", message = "waiting for the controller to observe the Rollout" }
if obj.status == nil then
  return hs
end

local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration or 0
if observed < generation then
  hs.message = "waiting for the controller to observe generation " .. generation
  return hs
end

local function condition(type)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local stalled = condition("Stalled")
if isTrue(stalled) then
  return { status = "Degraded", message = stalled.message or stalled.reason }
end
local paused = condition("Paused")
if isTrue(paused) then
  return { status = "Suspended", message = paused.message or paused.reason }
end
local ready = condition("Ready")
local reconciling = condition("Reconciling")
if isTrue(ready) and not isTrue(reconciling) then
  return { status = "Healthy", message = ready.message or "" }
end
if reconciling ~= nil and reconciling.message ~= nil then
  hs.message = reconciling.message
elseif ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
end
return hs
