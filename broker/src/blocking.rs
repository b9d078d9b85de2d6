//! A broker for tests that are not async: [`Broker::start_blocking`] runs it on a runtime of
//! its own, driven from threads of its own, so it also works when called from inside an async
//! test (a `block_on` on a thread that is already in a runtime panics; so does dropping one
//! there).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::cluster::blocking::BlockingClusterHandle;
use crate::control::clock::BrokerClock;
use crate::control::{ResetError, ResetSummary};
use crate::error::BrokerError;
use crate::handlers::create_topics::{CreateTopicError, CreatedTopic};
use crate::server::{Broker, BrokerHandle};

/// A broker with its own runtime. Dropping it stops the broker and waits for the stop.
pub struct BlockingBrokerHandle {
    handle: Option<BrokerHandle>,
    runtime: Option<Runtime>,
}

impl Broker {
    pub fn start_blocking(self) -> Result<BlockingBrokerHandle, BrokerError> {
        let started: Result<_, BrokerError> = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .thread_name("wren")
                        .build()
                        .map_err(|source| BrokerError::DataDir {
                            path: "runtime".into(),
                            source,
                        })?;
                    let handle = runtime.block_on(self.start())?;
                    Ok((runtime, handle))
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let (runtime, handle) = started?;
        Ok(BlockingBrokerHandle {
            handle: Some(handle),
            runtime: Some(runtime),
        })
    }
}

impl BlockingBrokerHandle {
    fn handle(&self) -> &BrokerHandle {
        self.handle.as_ref().expect("running")
    }

    /// Runs `work` on the broker's runtime from a thread of its own and waits for it.
    pub(crate) fn run<F: Future + Send>(&self, work: F) -> F::Output
    where
        F::Output: Send,
    {
        let runtime = self.runtime.as_ref().expect("running");
        std::thread::scope(|scope| {
            scope
                .spawn(|| runtime.block_on(work))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    pub fn bootstrap_servers(&self) -> String {
        self.handle().bootstrap_servers()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.handle().local_addr()
    }

    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.handle().control_addr()
    }

    /// The broker's clock, to read (`now_ms`); advance it with [`Self::advance_clock`].
    pub fn clock(&self) -> BrokerClock<'_> {
        self.handle().clock()
    }

    /// [`crate::control::clock::BrokerClock::advance`]: returns once the timers now due ran.
    pub fn advance_clock(&self, by: Duration) -> i64 {
        self.run(self.handle().clock().advance(by))
    }

    /// [`BrokerHandle::create_topic`].
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) -> Result<CreatedTopic, CreateTopicError> {
        self.run(self.handle().create_topic(name, partitions, configs))
    }

    /// [`BrokerHandle::cluster`]: stop and start brokers, move leaders, set ISRs, find
    /// coordinators.
    pub fn cluster(&self) -> BlockingClusterHandle<'_> {
        BlockingClusterHandle::new(self, self.handle().cluster())
    }

    /// [`BrokerHandle::faults`].
    pub fn faults(&self) -> &crate::faults::Faults {
        self.handle().faults()
    }

    /// [`BrokerHandle::metrics_text`].
    pub fn metrics_text(&self) -> String {
        self.handle().metrics_text()
    }

    /// [`BrokerHandle::requests`].
    pub fn requests(&self) -> Vec<crate::RequestRecord> {
        self.handle().requests()
    }

    /// [`BrokerHandle::reset`].
    pub fn reset(&self) -> Result<ResetSummary, ResetError> {
        self.run(self.handle().reset())
    }

    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let (Some(handle), Some(runtime)) = (self.handle.take(), self.runtime.take()) {
            let stopped = std::thread::spawn(move || {
                runtime.block_on(handle.shutdown());
                runtime.shutdown_timeout(Duration::from_secs(5));
            })
            .join();
            if stopped.is_err() {
                tracing::error!("stopping the broker panicked");
            }
        }
    }
}

impl Drop for BlockingBrokerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
