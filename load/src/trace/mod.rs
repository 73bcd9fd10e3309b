//! Readers of public FaaS traces, each with the exact columns its dataset
//! publishes, matched by name in the header (a trace may reorder them or
//! add its own).

pub mod azure2019;
pub mod azure2021;
pub mod faasload;
pub mod huawei2025;

/// Which function of a trace: Azure's hashed owner, application and
/// function names, which together identify one function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceFunction {
    /// The owner (`HashOwner`), empty where the trace has none.
    pub owner: String,
    /// The application (`HashApp` or `app`).
    pub app: String,
    /// The function (`HashFunction` or `func`).
    pub function: String,
}

impl TraceFunction {
    /// One name for the function, stable across runs: `owner/app/function`
    /// (without the owner where the trace has none).
    pub fn id(&self) -> String {
        if self.owner.is_empty() {
            format!("{}/{}", self.app, self.function)
        } else {
            format!("{}/{}/{}", self.owner, self.app, self.function)
        }
    }
}
