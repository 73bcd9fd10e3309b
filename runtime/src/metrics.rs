//! Prometheus metrics of the runtime, per function.

use crate::invocation::Invocation;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    function: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenialLabels {
    syscall: String,
    role: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// Why a module was compiled rather than loaded from its artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompileReason {
    /// A deploy.
    Deploy,
    /// No artifact for this engine (none stored, or another engine's).
    ArtifactMissing,
    /// The artifact failed its checksum or wasmtime refused it.
    ArtifactInvalid,
}

impl CompileReason {
    fn label(self) -> &'static str {
        match self {
            CompileReason::Deploy => "deploy",
            CompileReason::ArtifactMissing => "artifact_missing",
            CompileReason::ArtifactInvalid => "artifact_invalid",
        }
    }
}

fn duration_histogram() -> Histogram {
    // 10 us .. ~10 s: invocations start in microseconds and may run seconds.
    Histogram::new(exponential_buckets(1e-5, 2.0, 21))
}

/// The runtime's metrics and the registry that encodes them.
pub(crate) struct Metrics {
    registry: Registry,
    invocations: Family<OutcomeLabels, Counter>,
    errors: Family<OutcomeLabels, Counter>,
    duration: Family<FunctionLabels, Histogram, fn() -> Histogram>,
    rejected: Family<FunctionLabels, Counter>,
    deploys: Family<FunctionLabels, Counter>,
    functions: Gauge,
    compilations: Family<ReasonLabels, Counter>,
    artifact_loads: Counter,
    spliced_edges: Counter,
    slots_in_use: Gauge,
    seccomp_denied: Gauge,
    seccomp_denials: Family<DenialLabels, Gauge>,
    seccomp_guest_threads: Gauge,
    open_fds: Gauge,
    native_processes: Gauge,
    resident: Family<FunctionLabels, Gauge>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("faasrt");
        let invocations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "invocations",
            "Invocations that ran, by function and outcome (ok, exit, trap, timeout, output_too_large)",
            invocations.clone(),
        );
        let errors = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "invocation_errors",
            "Invocations that did not succeed, by function and outcome",
            errors.clone(),
        );
        let duration = Family::<FunctionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "invocation_duration_seconds",
            "Time from instantiation to the end of an invocation",
            duration.clone(),
        );
        let rejected = Family::<FunctionLabels, Counter>::default();
        registry.register(
            "invocations_rejected",
            "Invocations refused because every instance slot was busy",
            rejected.clone(),
        );
        let deploys = Family::<FunctionLabels, Counter>::default();
        registry.register(
            "deploys",
            "Successful deploys, by function",
            deploys.clone(),
        );
        let functions = Gauge::default();
        registry.register(
            "functions",
            "Functions currently deployed",
            functions.clone(),
        );
        let compilations = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "compilations",
            "Modules compiled, by reason (deploy, artifact_missing, artifact_invalid)",
            compilations.clone(),
        );
        let artifact_loads = Counter::default();
        registry.register(
            "artifact_loads",
            "Modules loaded from their precompiled artifact instead of compiled",
            artifact_loads.clone(),
        );
        let spliced_edges = Counter::default();
        registry.register(
            "pipeline_spliced_edges",
            "Pipeline edges between two native stages joined by OS pipes and splice",
            spliced_edges.clone(),
        );
        let slots_in_use = Gauge::default();
        registry.register(
            "instance_slots_in_use",
            "Instance slots held by running invocations and pipeline stages",
            slots_in_use.clone(),
        );
        let seccomp_denied = Gauge::default();
        registry.register(
            "seccomp_denied_syscalls",
            "Syscalls the server threads' seccomp filter refused since start",
            seccomp_denied.clone(),
        );
        let seccomp_denials = Family::<DenialLabels, Gauge>::default();
        registry.register(
            "seccomp_denials",
            "Syscalls the server's seccomp filters refused since start, by syscall and thread role (server, host, guest)",
            seccomp_denials.clone(),
        );
        let seccomp_guest_threads = Gauge::default();
        registry.register(
            "seccomp_guest_threads",
            "Threads running guest code under the guest-thread seccomp role",
            seccomp_guest_threads.clone(),
        );
        let open_fds = Gauge::default();
        registry.register(
            "open_fds",
            "File descriptors open in the faasrt process",
            open_fds.clone(),
        );
        let native_processes = Gauge::default();
        registry.register(
            "native_processes",
            "Native function processes that have not been reaped yet",
            native_processes.clone(),
        );
        let resident = Family::<FunctionLabels, Gauge>::default();
        registry.register(
            "function_resident_bytes",
            "Bytes of each function's code and data in memory (GET /v1/functions/{name} resident_bytes)",
            resident.clone(),
        );
        Metrics {
            registry,
            invocations,
            errors,
            duration,
            rejected,
            deploys,
            functions,
            compilations,
            artifact_loads,
            spliced_edges,
            slots_in_use,
            seccomp_denied,
            seccomp_denials,
            seccomp_guest_threads,
            open_fds,
            native_processes,
            resident,
        }
    }

    /// Sets the resource gauges from `usage` (just before encoding).
    pub(crate) fn set_resources(&self, usage: &crate::resource_use::ResourceUse) {
        self.slots_in_use.set(usage.instance_slots as i64);
        self.seccomp_denied
            .set(faasrt_isolation::denied_syscalls() as i64);
        for denial in faasrt_isolation::denials() {
            self.seccomp_denials
                .get_or_create(&DenialLabels {
                    syscall: denial.name.to_owned(),
                    role: denial.role.label().to_owned(),
                })
                .set(denial.count as i64);
        }
        self.seccomp_guest_threads
            .set(crate::thread_role::guest_threads() as i64);
        self.open_fds.set(usage.open_fds as i64);
        self.native_processes.set(usage.native_processes as i64);
    }

    /// Sets each function's resident-bytes gauge from `functions` (just
    /// before encoding); functions no longer deployed lose theirs.
    pub(crate) fn set_resident(&self, functions: &[crate::function::FunctionStatus]) {
        self.resident.clear();
        for function in functions {
            self.resident
                .get_or_create(&FunctionLabels {
                    function: function.info.name.clone(),
                })
                .set(function.resident_bytes.min(i64::MAX as u64) as i64);
        }
    }

    pub(crate) fn record_compile(&self, reason: CompileReason) {
        self.compilations
            .get_or_create(&ReasonLabels {
                reason: reason.label().to_owned(),
            })
            .inc();
    }

    pub(crate) fn record_artifact_load(&self) {
        self.artifact_loads.inc();
    }

    pub(crate) fn record_spliced_edge(&self) {
        self.spliced_edges.inc();
    }

    pub(crate) fn record_invocation(&self, function: &str, invocation: &Invocation) {
        let outcome = OutcomeLabels {
            function: function.to_owned(),
            outcome: invocation.status.label().to_owned(),
        };
        self.invocations.get_or_create(&outcome).inc();
        if !invocation.status.is_success() {
            self.errors.get_or_create(&outcome).inc();
        }
        self.duration
            .get_or_create(&FunctionLabels {
                function: function.to_owned(),
            })
            .observe(invocation.duration.as_secs_f64());
    }

    /// Counts one pipeline stage like an invocation of its function.
    pub(crate) fn record_stage(
        &self,
        function: &str,
        outcome: crate::invocation::Outcome,
        duration_us: u64,
    ) {
        let labels = OutcomeLabels {
            function: function.to_owned(),
            outcome: outcome.label().to_owned(),
        };
        self.invocations.get_or_create(&labels).inc();
        if outcome != crate::invocation::Outcome::Ok {
            self.errors.get_or_create(&labels).inc();
        }
        self.duration
            .get_or_create(&FunctionLabels {
                function: function.to_owned(),
            })
            .observe(duration_us as f64 / 1e6);
    }

    pub(crate) fn record_rejected(&self, function: &str) {
        self.rejected
            .get_or_create(&FunctionLabels {
                function: function.to_owned(),
            })
            .inc();
    }

    pub(crate) fn record_deploy(&self, function: &str) {
        self.deploys
            .get_or_create(&FunctionLabels {
                function: function.to_owned(),
            })
            .inc();
    }

    pub(crate) fn set_function_count(&self, count: usize) {
        self.functions.set(count as i64);
    }

    /// The metrics in Prometheus text format.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
