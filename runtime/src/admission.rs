//! Admitting one invocation: its function's concurrency permit (when it
//! has a limit) and one of the server's instance slots. Both are taken at
//! once when free; when one is not, the invocation is refused, or, with
//! [`crate::RuntimeConfig::slot_wait`], waits for it in line (first come,
//! first served) until that long after its arrival. When it was admitted
//! is the journal's `dequeue_ns`.

use crate::error::RuntimeError;
use crate::registry::LoadedFunction;
use crate::runtime::Inner;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;

/// What an admitted invocation holds while it runs, and when it got it.
pub(crate) struct Admission {
    /// Its function's concurrency permit, when the function has a limit.
    _permit: Option<OwnedSemaphorePermit>,
    /// Its instance slot.
    _slot: OwnedSemaphorePermit,
    /// When it had both, if it had to wait for one; `None` when both were
    /// free on arrival (it was admitted at its arrival).
    pub(crate) waited_until: Option<Instant>,
}

impl Inner {
    /// Admits an invocation of `function` that arrived at `arrival`,
    /// counting a refusal in the metrics.
    ///
    /// # Errors
    /// [`RuntimeError::FunctionBusy`] when the function's permits are all
    /// taken, [`RuntimeError::Busy`] when every slot is, and stay so until
    /// `arrival` + [`crate::RuntimeConfig::slot_wait`].
    pub(crate) async fn admit(
        &self,
        function: &LoadedFunction,
        arrival: Instant,
    ) -> Result<Admission, RuntimeError> {
        self.admit_within(function, arrival).await.inspect_err(|_| {
            self.metrics.record_rejected(&function.info.name);
            self.platform.counters.rejected();
        })
    }

    async fn admit_within(
        &self,
        function: &LoadedFunction,
        arrival: Instant,
    ) -> Result<Admission, RuntimeError> {
        let wait = self.config.get_slot_wait();
        let deadline = arrival + wait;
        let mut waited = false;
        let permit = match function.admit() {
            Ok(permit) => permit,
            Err(busy) if wait.is_zero() => return Err(busy),
            Err(_) => {
                waited = true;
                function.admit_by(deadline).await?
            }
        };
        let busy = || RuntimeError::Busy {
            limit: self.config.get_max_instances(),
        };
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) if wait.is_zero() => return Err(busy()),
            Err(_) => {
                waited = true;
                let slot = self.slots.clone().acquire_owned();
                match tokio::time::timeout_at(deadline.into(), slot).await {
                    Ok(Ok(slot)) => slot,
                    // Timed out (the semaphore is never closed).
                    _ => return Err(busy()),
                }
            }
        };
        Ok(Admission {
            _permit: permit,
            _slot: slot,
            waited_until: waited.then(Instant::now),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{DeployOptions, Runtime, RuntimeConfig, RuntimeError};
    use bytes::Bytes;
    use std::time::{Duration, Instant};

    async fn runtime_with_one_slot(wait: Duration) -> Runtime {
        let config = RuntimeConfig::in_memory().max_instances(1).slot_wait(wait);
        let runtime = Runtime::open(config).expect("open");
        let hello = faasrt_example_artifacts::get("hello").expect("hello is built");
        runtime
            .deploy(
                "hello",
                Bytes::from_static(hello.wasm),
                DeployOptions::default(),
            )
            .await
            .expect("deploy");
        runtime
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_free_slot_admits_at_arrival() {
        let runtime = runtime_with_one_slot(Duration::from_secs(5)).await;
        let inner = &runtime.inner;
        let function = inner.registry.lookup("hello").expect("deployed");
        let admitted = inner
            .admit(&function, Instant::now())
            .await
            .expect("admitted");
        assert_eq!(admitted.waited_until, None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_wait_a_taken_slot_refuses_at_once() {
        let runtime = runtime_with_one_slot(Duration::ZERO).await;
        let inner = &runtime.inner;
        let function = inner.registry.lookup("hello").expect("deployed");
        let _held = inner
            .slots
            .clone()
            .try_acquire_owned()
            .expect("the one slot");
        let refused = inner.admit(&function, Instant::now()).await;
        assert!(matches!(refused, Err(RuntimeError::Busy { limit: 1 })));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn with_a_wait_a_slot_freed_in_time_admits_when_it_is_freed() {
        let runtime = runtime_with_one_slot(Duration::from_secs(5)).await;
        let inner = runtime.inner.clone();
        let function = inner.registry.lookup("hello").expect("deployed");
        let held = inner
            .slots
            .clone()
            .try_acquire_owned()
            .expect("the one slot");
        let arrival = Instant::now();
        let waiter = {
            let inner = inner.clone();
            tokio::spawn(async move {
                inner
                    .admit(&function, arrival)
                    .await
                    .map(|admitted| admitted.waited_until)
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        let freed = Instant::now();
        drop(held);
        let admitted = waiter.await.expect("joins").expect("admitted");
        assert!(admitted.expect("it waited") >= freed);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn with_a_wait_a_slot_not_freed_in_time_is_refused() {
        let runtime = runtime_with_one_slot(Duration::from_millis(20)).await;
        let inner = &runtime.inner;
        let function = inner.registry.lookup("hello").expect("deployed");
        let _held = inner
            .slots
            .clone()
            .try_acquire_owned()
            .expect("the one slot");
        let arrival = Instant::now();
        let refused = inner.admit(&function, arrival).await;
        assert!(matches!(refused, Err(RuntimeError::Busy { .. })));
        assert!(arrival.elapsed() >= Duration::from_millis(20));
    }
}
