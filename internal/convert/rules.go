package convert

// Rule is how one field of Argo Rollouts' schema becomes Ramp's: the
// field it maps to, or why it is refused. A rule on an object or a list
// covers everything below it. docs/migrating.md is generated from these
// tables, and a test checks that they cover every field of Argo's CRDs.
type Rule struct {
	// Ramp is the field it maps to, or a word on what becomes of it.
	Ramp string
	// Refused, when set, is why Ramp cannot honour the field, and what to
	// do instead; the field is refused wherever it appears.
	Refused string
	// Note says when a mapped field is refused after all (a value Ramp
	// cannot honour), or how the value changes on the way.
	Note string
}

const dropped = "(dropped)"

// objectRules are the rules every converted kind shares: type and metadata.
var objectRules = map[string]Rule{
	"apiVersion":                          {Ramp: "apiVersion", Note: "`ramp.dev/v1alpha1`"},
	"kind":                                {Ramp: "kind", Note: "the same kind"},
	"metadata.name":                       {Ramp: "metadata.name"},
	"metadata.generateName":               {Ramp: "metadata.generateName"},
	"metadata.namespace":                  {Ramp: "metadata.namespace"},
	"metadata.labels":                     {Ramp: "metadata.labels"},
	"metadata.annotations":                {Ramp: "metadata.annotations", Note: "except Argo Rollouts' own (`rollout.argoproj.io/*`, `argo-rollouts.argoproj.io/*`) and `kubectl.kubernetes.io/last-applied-configuration`, which describe the Argo object"},
	"metadata.finalizers":                 {Refused: "finalizers belong to the controllers that set them; remove them"},
	"metadata.ownerReferences":            {Refused: "an owner reference ties the object to another's lifecycle and uid; remove it and let the owner re-create it, or add it to Ramp's object yourself"},
	"metadata.uid":                        {Ramp: dropped, Note: "set by the API server"},
	"metadata.resourceVersion":            {Ramp: dropped, Note: "set by the API server"},
	"metadata.generation":                 {Ramp: dropped, Note: "set by the API server"},
	"metadata.creationTimestamp":          {Ramp: dropped, Note: "set by the API server"},
	"metadata.deletionTimestamp":          {Ramp: dropped, Note: "set by the API server"},
	"metadata.deletionGracePeriodSeconds": {Ramp: dropped, Note: "set by the API server"},
	"metadata.managedFields":              {Ramp: dropped, Note: "set by the API server"},
	"metadata.selfLink":                   {Ramp: dropped, Note: "set by the API server"},
	"status":                              {Ramp: dropped, Note: "written by Argo's controller; Ramp's controller writes its own"},
}

const (
	noMetadataOfRuns = "Ramp labels its AnalysisRuns itself and takes no labels or annotations for them"
	noDryRun         = "Ramp has no dry-run metrics: every metric counts. Remove the metric from the run, or make its template a separate analysis step whose verdict you can promote past (an inconclusive one pauses)"
	noRetention      = "Ramp keeps every measurement of a run (they are few: each is taken only when due); remove it"
	argPodHash       = "Ramp's arguments are literal values. Use {{.StableRevision}} or {{.CanaryRevision}} in the template's query instead (Ramp's revision is its ramp.dev/revision label, not rollouts-pod-template-hash)"
)

// analysisRules are those of Argo's RolloutAnalysis, wherever it appears.
func analysisRules(argo, ramp string) map[string]Rule {
	return map[string]Rule{
		argo + ".templates[].templateName":              {Ramp: ramp + ".templates[].templateName"},
		argo + ".templates[].clusterScope":              {Ramp: ramp + ".templates[].clusterScope"},
		argo + ".args[].name":                           {Ramp: ramp + ".args[].name", Note: "`-` becomes `_`, in the template, its queries and the Rollouts that pass it alike; other names that do not match `^[A-Za-z_][A-Za-z0-9_]*$` are refused"},
		argo + ".args[].value":                          {Ramp: ramp + ".args[].value"},
		argo + ".args[].valueFrom.podTemplateHashValue": {Refused: argPodHash},
		argo + ".args[].valueFrom.fieldRef.fieldPath":   {Ramp: ramp + ".args[].value", Note: "`metadata.name` (and `metadata.namespace` when the manifest sets it) become the literal value; other fields are refused: use {{.Rollout}} or {{.Namespace}} in the query, or a literal value"},
		argo + ".dryRun":                                {Refused: noDryRun},
		argo + ".measurementRetention":                  {Refused: noRetention},
		argo + ".analysisRunMetadata":                   {Refused: noMetadataOfRuns},
	}
}

const (
	noAntiAffinity = "Ramp sets no anti-affinity between revisions; put a podAntiAffinity in the pod template instead"
	noPodMetadata  = "Ramp adds no labels or annotations per revision role (stable, canary, active, preview); select a revision by its ramp.dev/revision label"
	noDelayLimit   = "Ramp scales each old revision down after scaleDownDelaySeconds and has no limit on how many wait; remove it"
)

// RolloutRules are the rules of Argo's Rollout, by path.
var RolloutRules = merge(objectRules,
	map[string]Rule{
		"spec.replicas":                             {Ramp: "spec.replicas"},
		"spec.selector":                             {Ramp: "spec.selector", Note: "copied as is; with workloadRef and no selector, the Deployment's, when it is given beside the Rollout"},
		"spec.template":                             {Ramp: "spec.template", Note: "copied as is"},
		"spec.minReadySeconds":                      {Ramp: "spec.minReadySeconds"},
		"spec.revisionHistoryLimit":                 {Ramp: "spec.revisionHistoryLimit"},
		"spec.paused":                               {Ramp: "spec.paused"},
		"spec.progressDeadlineSeconds":              {Ramp: "spec.progressDeadlineSeconds", Note: "Ramp always rolls back a canary that misses it (Argo's progressDeadlineAbort: true)"},
		"spec.progressDeadlineAbort":                {Ramp: "(Ramp's behaviour)", Note: "Ramp always rolls a canary back at the progress deadline; false is accepted as Argo's default, see \"Where the defaults differ\""},
		"spec.restartAt":                            {Refused: "Ramp has no scheduled restart; restart by changing the pod template (e.g. an annotation: `kubectl rollout restart` style), which Ramp rolls out as a canary"},
		"spec.rollbackWindow":                       {Refused: "Ramp has no rollback window: going back to an older template always runs its canary steps; remove it, and use `ramp undo` then `ramp promote --full` for a fast rollback"},
		"spec.analysis.successfulRunHistoryLimit":   {Ramp: "spec.analysisRunHistoryLimit", Note: "with unsuccessfulRunHistoryLimit, their sum (each defaults to 5): Ramp keeps finished runs whatever their outcome"},
		"spec.analysis.unsuccessfulRunHistoryLimit": {Ramp: "spec.analysisRunHistoryLimit", Note: "see successfulRunHistoryLimit"},
		"spec.workloadRef.apiVersion":               {Ramp: "spec.workloadRef.apiVersion", Note: "refused unless apps/v1"},
		"spec.workloadRef.kind":                     {Ramp: "spec.workloadRef.kind", Note: "refused unless Deployment: Ramp adopts Deployments only"},
		"spec.workloadRef.name":                     {Ramp: "spec.workloadRef.name"},
		"spec.workloadRef.scaleDown":                {Ramp: "spec.workloadRef.mode", Note: "written as `mode: Adopt`: `onsuccess` is what it does (the Deployment goes to zero once the Rollout's first revision is available); `never` and `progressively` are refused, and the message points to `mode: InPlace`, where the Deployment keeps serving"},

		// Canary.
		"spec.strategy.canary.steps[].setWeight":                                 {Ramp: "spec.strategy.canary.steps[].setWeight"},
		"spec.strategy.canary.steps[].pause.duration":                            {Ramp: "spec.strategy.canary.steps[].pause.duration", Note: "a number of seconds becomes a duration (`30` → `30s`); no duration waits until promoted in both"},
		"spec.strategy.canary.steps[].setCanaryScale":                            {Refused: "Ramp sizes the canary from the step's weight (or at full scale with canaryScale: Full), and no step changes that; remove the step, or set spec.strategy.canary.canaryScale"},
		"spec.strategy.canary.steps[].experiment":                                {Refused: "Ramp has no experiments; run the canary itself through analysis steps, or test a version beside it with a job step"},
		"spec.strategy.canary.steps[].plugin":                                    {Refused: "Ramp has no step plugins; use a webhook or job step, which call a test system or run a container"},
		"spec.strategy.canary.steps[].setHeaderRoute.name":                       {Ramp: "spec.strategy.canary.steps[].setHeaderRoute.name", Note: "refused unless a DNS label of at most 40 characters"},
		"spec.strategy.canary.steps[].setHeaderRoute.match[].headerName":         {Ramp: "spec.strategy.canary.steps[].setHeaderRoute.match[].name"},
		"spec.strategy.canary.steps[].setHeaderRoute.match[].headerValue.exact":  {Ramp: "spec.strategy.canary.steps[].setHeaderRoute.match[].value.exact"},
		"spec.strategy.canary.steps[].setHeaderRoute.match[].headerValue.prefix": {Ramp: "spec.strategy.canary.steps[].setHeaderRoute.match[].value.prefix"},
		"spec.strategy.canary.steps[].setHeaderRoute.match[].headerValue.regex":  {Ramp: "spec.strategy.canary.steps[].setHeaderRoute.match[].value.regex"},
		"spec.strategy.canary.steps[].setMirrorRoute.name":                       {Ramp: "spec.strategy.canary.steps[].setMirrorRoute.name", Note: "refused unless a DNS label of at most 40 characters"},
		"spec.strategy.canary.steps[].setMirrorRoute.percentage":                 {Ramp: "spec.strategy.canary.steps[].setMirrorRoute.percent", Note: "Argo's default, 100, is written out; a step without match removes the route in both"},
		"spec.strategy.canary.steps[].setMirrorRoute.match[].headers":            {Ramp: "spec.strategy.canary.steps[].setMirrorRoute.match[]", Note: "one match of headers only: Ramp's mirror matches one set of headers, so several matches (any of which copies) are refused"},
		"spec.strategy.canary.steps[].setMirrorRoute.match[].method":             {Refused: "Ramp's mirror routes match request headers only, not the method"},
		"spec.strategy.canary.steps[].setMirrorRoute.match[].path":               {Refused: "Ramp's mirror routes match request headers only, not the path; give the managed route (Gateway API rules, Istio httpRouteName) the path match instead"},

		"spec.strategy.canary.canaryService":               {Ramp: "spec.strategy.canary.trafficRouting.canaryServiceName", Note: "with smi or gatewayAPI; Ramp takes over Argo's Service of that name with the Rollout's pods; refused without trafficRouting (Ramp's pod-ratio canary has no canary Service) and with istio (Ramp routes to subsets)"},
		"spec.strategy.canary.stableService":               {Ramp: "spec.strategy.canary.trafficRouting.stableServiceName", Note: "as canaryService"},
		"spec.strategy.canary.maxSurge":                    {Ramp: "spec.strategy.canary.maxSurge"},
		"spec.strategy.canary.maxUnavailable":              {Ramp: "spec.strategy.canary.maxUnavailable", Note: "absent, Argo's default 25% is written out (Ramp's is 0); with trafficRouting, where Argo ignores it, left out"},
		"spec.strategy.canary.scaleDownDelaySeconds":       {Ramp: "spec.strategy.canary.scaleDownDelaySeconds"},
		"spec.strategy.canary.abortScaleDownDelaySeconds":  {Ramp: "spec.strategy.canary.abortScaleDownDelaySeconds", Note: "with trafficRouting; without it Argo ignores it and it is left out; 0 (Argo: keep the pods for ever) and above 3600 refused"},
		"spec.strategy.canary.scaleDownDelayRevisionLimit": {Refused: noDelayLimit},
		"spec.strategy.canary.dynamicStableScale":          {Ramp: "(Ramp's behaviour)", Note: "false is what Ramp does (the stable revision keeps all its pods until promotion); true is refused"},
		"spec.strategy.canary.minPodsPerReplicaSet":        {Ramp: "(Ramp's behaviour)", Note: "1 is what Ramp does (a canary with weight runs at least one pod); other values are refused"},
		"spec.strategy.canary.replicaProgressThreshold":    {Refused: "Ramp waits for all the pods a step asks before it completes; remove it"},
		"spec.strategy.canary.antiAffinity":                {Refused: noAntiAffinity},
		"spec.strategy.canary.canaryMetadata":              {Refused: noPodMetadata},
		"spec.strategy.canary.stableMetadata":              {Refused: noPodMetadata},
		"spec.strategy.canary.pingPong":                    {Refused: "Ramp creates and owns its stable and canary Services and swaps nothing; remove pingPong and use stableService and canaryService (or Ramp's defaults, <service>-stable and -canary)"},
		"spec.strategy.canary.analysis.startingStep":       {Ramp: "spec.strategy.canary.analysis.startingStep", Note: "absent, Argo starts at step 0 and so does the converted Rollout (Ramp's own default is the step after the first setWeight)"},

		// Traffic routing.
		"spec.strategy.canary.trafficRouting.smi.rootService":                             {Ramp: "spec.service"},
		"spec.strategy.canary.trafficRouting.smi.trafficSplitName":                        {Ramp: "spec.strategy.canary.trafficRouting.smi.trafficSplitName"},
		"spec.strategy.canary.trafficRouting.istio.virtualService.name":                   {Ramp: "spec.strategy.canary.trafficRouting.istio.virtualService.name"},
		"spec.strategy.canary.trafficRouting.istio.virtualService.routes":                 {Ramp: "spec.strategy.canary.trafficRouting.istio.virtualService.httpRouteName", Note: "one route; Ramp manages one HTTP route, so several are refused"},
		"spec.strategy.canary.trafficRouting.istio.virtualService.tlsRoutes":              {Refused: "Ramp's Istio router shapes HTTP routes only"},
		"spec.strategy.canary.trafficRouting.istio.virtualService.tcpRoutes":              {Refused: "Ramp's Istio router shapes HTTP routes only"},
		"spec.strategy.canary.trafficRouting.istio.virtualServices[].name":                {Ramp: "spec.strategy.canary.trafficRouting.istio.virtualService.name", Note: "one VirtualService; Ramp manages one, so several are refused"},
		"spec.strategy.canary.trafficRouting.istio.virtualServices[].routes":              {Ramp: "spec.strategy.canary.trafficRouting.istio.virtualService.httpRouteName", Note: "as virtualService.routes"},
		"spec.strategy.canary.trafficRouting.istio.virtualServices[].tlsRoutes":           {Refused: "Ramp's Istio router shapes HTTP routes only"},
		"spec.strategy.canary.trafficRouting.istio.virtualServices[].tcpRoutes":           {Refused: "Ramp's Istio router shapes HTTP routes only"},
		"spec.strategy.canary.trafficRouting.istio.destinationRule.name":                  {Ramp: "spec.strategy.canary.trafficRouting.istio.destinationRule.name", Note: "required: Ramp splits by subsets (Argo's host-level splitting, without destinationRule, is refused); its host names spec.service when the DestinationRule is given beside the Rollout"},
		"spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName":      {Ramp: "spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName"},
		"spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName":      {Ramp: "spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName"},
		"spec.strategy.canary.trafficRouting.istio.destinationRule.additionalSubsetNames": {Refused: "Ramp labels the stable and canary subsets only; remove the others from the list (they keep selecting what they select)"},
		"spec.strategy.canary.trafficRouting.plugins":                                     {Ramp: "spec.strategy.canary.trafficRouting.gatewayAPI", Note: "`argoproj-labs/gatewayAPI` with one `httpRoute` (or one `httpRoutes` entry) in the Rollout's namespace; its HTTPRoute's Service parent names spec.service when the route is given beside the Rollout. Other plugins, and grpcRoute, tcpRoute and tlsRoute, are refused"},
		"spec.strategy.canary.trafficRouting.managedRoutes":                               {Ramp: "(Ramp's behaviour)", Note: "accepted when each names a setHeaderRoute or setMirrorRoute step: Ramp creates, orders and removes those routes itself (named ramp-<name>)"},
		"spec.strategy.canary.trafficRouting.maxTrafficWeight":                            {Ramp: "(Ramp's behaviour)", Note: "100 is what Ramp does (weights are percentages); other values are refused"},
		"spec.strategy.canary.trafficRouting.nginx":                                       {Refused: "Ramp has no NGINX Ingress router; use gatewayAPI (Gateway API HTTPRoute, which ingress-nginx's successors and most gateways serve) or istio"},
		"spec.strategy.canary.trafficRouting.alb":                                         {Refused: "Ramp has no AWS ALB router; use gatewayAPI (the AWS Gateway API controller) or istio"},
		"spec.strategy.canary.trafficRouting.ambassador":                                  {Refused: "Ramp has no Ambassador router; use gatewayAPI (Emissary-ingress serves Gateway API)"},
		"spec.strategy.canary.trafficRouting.apisix":                                      {Refused: "Ramp has no APISIX router; use gatewayAPI (APISIX's ingress controller serves Gateway API)"},
		"spec.strategy.canary.trafficRouting.appMesh":                                     {Refused: "Ramp has no AWS App Mesh router; use gatewayAPI or smi"},
		"spec.strategy.canary.trafficRouting.traefik":                                     {Refused: "Ramp has no Traefik router; use gatewayAPI (Traefik serves Gateway API) or smi (Traefik Mesh)"},

		// Blue/green.
		"spec.strategy.blueGreen.activeService":               {Ramp: "spec.strategy.blueGreen.activeService"},
		"spec.strategy.blueGreen.previewService":              {Ramp: "spec.strategy.blueGreen.previewService", Note: "absent in Argo there is no preview Service; Ramp then creates <activeService>-preview"},
		"spec.strategy.blueGreen.previewReplicaCount":         {Ramp: "spec.strategy.blueGreen.previewReplicaCount"},
		"spec.strategy.blueGreen.autoPromotionEnabled":        {Ramp: "spec.strategy.blueGreen.autoPromotionSeconds", Note: "true or absent: autoPromotionSeconds (0 without Argo's); false: no autoPromotionSeconds, the switch waits for `ramp promote`"},
		"spec.strategy.blueGreen.autoPromotionSeconds":        {Ramp: "spec.strategy.blueGreen.autoPromotionSeconds", Note: "ignored with autoPromotionEnabled: false, as Argo does"},
		"spec.strategy.blueGreen.scaleDownDelaySeconds":       {Ramp: "spec.strategy.blueGreen.scaleDownDelaySeconds"},
		"spec.strategy.blueGreen.abortScaleDownDelaySeconds":  {Ramp: "spec.strategy.blueGreen.abortScaleDownDelaySeconds", Note: "0 (Argo: keep the pods for ever) and above 3600 refused"},
		"spec.strategy.blueGreen.scaleDownDelayRevisionLimit": {Refused: noDelayLimit},
		"spec.strategy.blueGreen.maxUnavailable":              {Refused: "Ramp's blue/green brings the new version up beside the old one and takes no old pod down before the switch; remove it"},
		"spec.strategy.blueGreen.antiAffinity":                {Refused: noAntiAffinity},
		"spec.strategy.blueGreen.activeMetadata":              {Refused: noPodMetadata},
		"spec.strategy.blueGreen.previewMetadata":             {Refused: noPodMetadata},
	},
	analysisRules("spec.strategy.canary.steps[].analysis", "spec.strategy.canary.steps[].analysis"),
	analysisRules("spec.strategy.canary.analysis", "spec.strategy.canary.analysis"),
	analysisRules("spec.strategy.blueGreen.prePromotionAnalysis", "spec.strategy.blueGreen.prePromotion[0].analysis"),
	analysisRules("spec.strategy.blueGreen.postPromotionAnalysis", "spec.strategy.blueGreen.postPromotion[0].analysis"),
)

const (
	noKayenta   = "Ramp has no Kayenta provider; write the comparison as a query of your metrics store (prometheus, datadog, newRelic, ...)"
	noAuth      = "Ramp's providers send headers and bearer tokens from Secrets, and sign no requests: put a token in a Secret and use bearerTokenSecret or headers[].valueFrom, or a proxy that signs (e.g. aws-sigv4-proxy) as the address"
	noProfile   = "Ramp reads credentials from Secrets in the Rollout's namespace, not from a profile Secret in the controller's; Argo's profile holds more than Ramp can place (the account and region too): write the provider with Ramp's fields"
	noTemplated = "Ramp does not template this field: give a literal value"
)

// TemplateRules are the rules of Argo's AnalysisTemplate and
// ClusterAnalysisTemplate, by path.
var TemplateRules = merge(objectRules, map[string]Rule{
	"spec.args[].name":                       {Ramp: "spec.args[].name", Note: "`-` becomes `_`, in the template, its queries and the Rollouts that pass it alike; other names that do not match `^[A-Za-z_][A-Za-z0-9_]*$` are refused"},
	"spec.args[].value":                      {Ramp: "spec.args[].value"},
	"spec.args[].valueFrom.secretKeyRef":     {Refused: "Ramp's arguments are not secret (they appear in the run's spec); read a Secret in the provider instead: prometheus.headers[].valueFrom, bearerTokenSecret, datadog.apiKey, ..."},
	"spec.args[].valueFrom.fieldRef":         {Refused: "a template cannot know the Rollout that will run it: pass the value as an argument from the Rollout, or use {{.Rollout}} and {{.Namespace}} in the query"},
	"spec.dryRun":                            {Refused: noDryRun},
	"spec.measurementRetention":              {Refused: noRetention},
	"spec.templates":                         {Refused: "Ramp's templates do not include other templates: list them together in the Rollout's analysis (templates: [...])"},
	"spec.metrics[].name":                    {Ramp: "spec.metrics[].name", Note: "refused unless a DNS label (lower case, digits, -) of at most 63 characters"},
	"spec.metrics[].interval":                {Ramp: "spec.metrics[].interval"},
	"spec.metrics[].initialDelay":            {Ramp: "spec.metrics[].initialDelay"},
	"spec.metrics[].count":                   {Ramp: "spec.metrics[].count", Note: "without count and interval Argo measures once: count 1 is written out; with interval only, both measure until the analysis ends (in a background analysis)"},
	"spec.metrics[].failureLimit":            {Ramp: "spec.metrics[].failureLimit", Note: "-1 (no limit) is refused"},
	"spec.metrics[].inconclusiveLimit":       {Ramp: "spec.metrics[].inconclusiveLimit"},
	"spec.metrics[].consecutiveErrorLimit":   {Ramp: "spec.metrics[].consecutiveErrorLimit"},
	"spec.metrics[].consecutiveSuccessLimit": {Ramp: "(Ramp's behaviour)", Note: "0 (Argo's default: off) is accepted; other values are refused: Ramp counts judged measurements (count), not successes in a row"},
	"spec.metrics[].successCondition":        {Ramp: "spec.metrics[].successCondition", Note: "translated from Argo's expr language to CEL (see below); what cannot be translated with certainty is refused"},
	"spec.metrics[].failureCondition":        {Ramp: "spec.metrics[].failureCondition", Note: "as successCondition; a metric with both is refused (Argo judges a measurement that meets neither Inconclusive, Ramp Failed)"},

	"spec.metrics[].provider.prometheus.address":                                                  {Ramp: "spec.metrics[].provider.prometheus.address"},
	"spec.metrics[].provider.prometheus.query":                                                    {Ramp: "spec.metrics[].provider.prometheus.query", Note: "{{args.x}} becomes {{.Args.x}}"},
	"spec.metrics[].provider.prometheus.timeout":                                                  {Ramp: "spec.metrics[].provider.prometheus.timeout", Note: "seconds become a duration"},
	"spec.metrics[].provider.prometheus.insecure":                                                 {Ramp: "spec.metrics[].provider.prometheus.tls.insecureSkipVerify"},
	"spec.metrics[].provider.prometheus.headers[].key":                                            {Ramp: "spec.metrics[].provider.prometheus.headers[].name"},
	"spec.metrics[].provider.prometheus.headers[].value":                                          {Ramp: "spec.metrics[].provider.prometheus.headers[].value"},
	"spec.metrics[].provider.prometheus.authentication":                                           {Refused: noAuth},
	"spec.metrics[].provider.prometheus.rangeQuery":                                               {Refused: "Ramp runs instant queries; write the range into the query (e.g. avg_over_time(...[5m]))"},
	"spec.metrics[].provider.web.url":                                                             {Ramp: "spec.metrics[].provider.web.url", Note: "{{args.x}} becomes {{.Args.x}}"},
	"spec.metrics[].provider.web.jsonPath":                                                        {Ramp: "spec.metrics[].provider.web.jsonPath", Note: "absent, Argo's default {$} is written out"},
	"spec.metrics[].provider.web.method":                                                          {Ramp: "(Ramp's behaviour)", Note: "GET is what Ramp does; POST and PUT are refused"},
	"spec.metrics[].provider.web.timeoutSeconds":                                                  {Ramp: "spec.metrics[].provider.web.timeout"},
	"spec.metrics[].provider.web.insecure":                                                        {Ramp: "spec.metrics[].provider.web.tls.insecureSkipVerify"},
	"spec.metrics[].provider.web.headers[].key":                                                   {Ramp: "spec.metrics[].provider.web.headers[].name"},
	"spec.metrics[].provider.web.headers[].value":                                                 {Ramp: "spec.metrics[].provider.web.headers[].value"},
	"spec.metrics[].provider.web.body":                                                            {Refused: "Ramp's web metric is a GET without a body; serve the value at a URL, or use a job metric"},
	"spec.metrics[].provider.web.jsonBody":                                                        {Refused: "Ramp's web metric is a GET without a body; serve the value at a URL, or use a job metric"},
	"spec.metrics[].provider.web.authentication":                                                  {Refused: noAuth},
	"spec.metrics[].provider.datadog.query":                                                       {Ramp: "spec.metrics[].provider.datadog.query", Note: "{{args.x}} becomes {{.Args.x}}"},
	"spec.metrics[].provider.datadog.queries":                                                     {Ramp: "spec.metrics[].provider.datadog.queries[]", Note: "the map becomes a list of {name, query}, by name"},
	"spec.metrics[].provider.datadog.formula":                                                     {Ramp: "spec.metrics[].provider.datadog.formula"},
	"spec.metrics[].provider.datadog.aggregator":                                                  {Ramp: "spec.metrics[].provider.datadog.aggregator"},
	"spec.metrics[].provider.datadog.apiVersion":                                                  {Ramp: "spec.metrics[].provider.datadog.apiVersion", Note: "absent, Argo's default v1 is written out for a single query, v2 for a formula"},
	"spec.metrics[].provider.datadog.interval":                                                    {Ramp: "spec.metrics[].interval", Note: "Ramp's query window is the metric's interval: refused unless equal to it (Argo's default 5m)"},
	"spec.metrics[].provider.datadog.requestTimeout":                                              {Ramp: "spec.metrics[].provider.datadog.timeout"},
	"spec.metrics[].provider.datadog.secretRef.name":                                              {Ramp: "spec.metrics[].provider.datadog.apiKey, applicationKey", Note: "{name, key: api-key} and {name, key: app-key}, as Argo reads them; required, with namespaced: true"},
	"spec.metrics[].provider.datadog.secretRef.namespaced":                                        {Ramp: "(Ramp's behaviour)", Note: "true is what Ramp does (the Secret is in the Rollout's namespace); false or absent (Argo's controller's namespace) is refused"},
	"spec.metrics[].provider.newRelic":                                                            {Refused: noProfile + " (newRelic: accountID, region, apiKey)"},
	"spec.metrics[].provider.influxdb":                                                            {Refused: noProfile + " (influxDB: address, org, token)"},
	"spec.metrics[].provider.graphite.address":                                                    {Ramp: "spec.metrics[].provider.graphite.address"},
	"spec.metrics[].provider.graphite.query":                                                      {Ramp: "spec.metrics[].provider.graphite.target", Note: "{{args.x}} becomes {{.Args.x}}"},
	"spec.metrics[].provider.cloudWatch.interval":                                                 {Ramp: "spec.metrics[].interval", Note: "Ramp's query window is the metric's interval: refused unless equal to it (Argo's default 5m)"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].id":                                   {Ramp: "spec.metrics[].provider.cloudWatch.queries[].id"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].expression":                           {Ramp: "spec.metrics[].provider.cloudWatch.queries[].expression"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].label":                                {Ramp: "spec.metrics[].provider.cloudWatch.queries[].label"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].returnData":                           {Ramp: "spec.metrics[].provider.cloudWatch.queries[].returnData"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].period":                               {Refused: "GetMetricData takes a period on metricStat only; move it there"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.metric.namespace":          {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.namespace"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.metric.metricName":         {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.metricName"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.metric.dimensions[].name":  {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.dimensions[].name"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.metric.dimensions[].value": {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.dimensions[].value", Note: "{{args.x}} becomes {{.Args.x}}"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.period":                    {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.period"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.stat":                      {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.stat"},
	"spec.metrics[].provider.cloudWatch.metricDataQueries[].metricStat.unit":                      {Ramp: "spec.metrics[].provider.cloudWatch.queries[].metricStat.unit"},
	"spec.metrics[].provider.job.spec":                                                            {Ramp: "spec.metrics[].provider.job", Note: "a Job of one container, without args templates: container, serviceAccountName, backoffLimit, activeDeadlineSeconds (→ timeout), the pod's labels and annotations; any other field of the Job or its pod is refused"},
	"spec.metrics[].provider.job.metadata":                                                        {Refused: "Ramp names and labels the Jobs it runs itself; put labels for the pod in spec.template.metadata"},
	"spec.metrics[].provider.kayenta":                                                             {Refused: noKayenta},
	"spec.metrics[].provider.wavefront":                                                           {Refused: "Ramp has no Wavefront provider; use a web metric on Wavefront's query API, or prometheus, datadog, newRelic, graphite, influxDB or cloudWatch"},
	"spec.metrics[].provider.skywalking":                                                          {Refused: "Ramp has no SkyWalking provider; query SkyWalking from a job metric, or use another of Ramp's providers"},
	"spec.metrics[].provider.plugin":                                                              {Refused: "Ramp has no metric plugins; use a web or job metric, or one of Ramp's providers"},
})

func merge(tables ...map[string]Rule) map[string]Rule {
	out := map[string]Rule{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}
