//! The standard health checking service (`grpc.health.v1.Health`, gRPC's
//! `doc/health-checking.md`): `Check`, `Watch` and `List`, and a [`Health`] handle to set each
//! service's status from anywhere.
//!
//! Kubernetes gRPC probes, load balancers and `grpc-health-probe` ask this service whether the
//! server takes calls. Serve it with [`add_health_servicer_to_server`]; when the server
//! [stops](crate::Server::stop), every status turns NOT_SERVING first, so whoever watches drains
//! the server before it goes.
//!
//! ```no_run
//! use rust_rpc::health::{self, Health, ServingStatus};
//!
//! # async fn demo() -> Result<(), rust_rpc::Error> {
//! let server = rust_rpc::Server::new();
//! // add_greeter_servicer_to_server(MyGreeter, &server)?;  (generated)
//! let health = Health::new(); // "" (the whole server) is SERVING
//! health::add_health_servicer_to_server(health.clone(), &server)?;
//! health.set_status("helloworld.Greeter", ServingStatus::Serving);
//! server.add_insecure_port("[::]:50051")?;
//! server.start()?;
//! // Later, from anywhere: a dependency went away.
//! health.set_status("helloworld.Greeter", ServingStatus::NotServing);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::generated::health_v1 as proto;
pub use crate::generated::health_v1::health_check_response::ServingStatus;
pub use crate::generated::health_v1::{
    HealthBlockingClient, HealthCheckRequest, HealthCheckResponse, HealthClient, HealthListRequest, HealthListResponse,
    HealthServicer,
};
use crate::{Error, ResponseStream, Result, RpcError, Server, ServicerContext};

/// The health of a server's services: a status per service name, `""` standing for the server
/// as a whole. Clones share it; set statuses from any task.
///
/// A service with no status is unknown: `Check` fails with NOT_FOUND and `Watch` reports
/// SERVICE_UNKNOWN until it gets one.
///
/// ```
/// use rust_rpc::health::{Health, ServingStatus};
///
/// let health = Health::new();
/// assert_eq!(health.status(""), Some(ServingStatus::Serving));
/// assert_eq!(health.status("helloworld.Greeter"), None);
/// health.set_status("helloworld.Greeter", ServingStatus::Serving);
/// health.enter_graceful_shutdown();
/// assert_eq!(health.status("helloworld.Greeter"), Some(ServingStatus::NotServing));
/// ```
#[derive(Clone)]
pub struct Health {
    inner: Arc<Mutex<Statuses>>,
}

struct Statuses {
    /// One channel per service that has a status or a watcher; `None` is unknown.
    services: HashMap<String, watch::Sender<Option<ServingStatus>>>,
    /// After `enter_graceful_shutdown`: everything is NOT_SERVING and stays so until `resume`.
    shutting_down: bool,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// A health state in which the server as a whole (`""`) is SERVING, as grpc-go starts it,
    /// and no service has a status yet.
    pub fn new() -> Health {
        let health =
            Health { inner: Arc::new(Mutex::new(Statuses { services: HashMap::new(), shutting_down: false })) };
        health.set_status("", ServingStatus::Serving);
        health
    }

    fn statuses(&self) -> MutexGuard<'_, Statuses> {
        // A poisoned lock only means another thread panicked while updating plain data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets `service`'s status and tells its watchers. Ignored after
    /// [`enter_graceful_shutdown`](Self::enter_graceful_shutdown), until [`resume`](Self::resume).
    pub fn set_status(&self, service: &str, status: ServingStatus) {
        let mut statuses = self.statuses();
        if statuses.shutting_down {
            return;
        }
        set(&mut statuses, service, Some(status));
    }

    /// Forgets `service`'s status: it is unknown again (its watchers see SERVICE_UNKNOWN).
    pub fn clear_status(&self, service: &str) {
        let mut statuses = self.statuses();
        set(&mut statuses, service, None);
        forget_if_unused(&mut statuses, service);
    }

    /// `service`'s status; `None` when it has none.
    pub fn status(&self, service: &str) -> Option<ServingStatus> {
        self.statuses().services.get(service).and_then(|sender| *sender.borrow())
    }

    /// Turns every status to NOT_SERVING and ignores later changes until
    /// [`resume`](Self::resume): the server is going away (Python's `enter_graceful_shutdown`,
    /// grpc-go's `Shutdown`). A server's `stop` calls this when the service was added with
    /// [`add_health_servicer_to_server`].
    pub fn enter_graceful_shutdown(&self) {
        let mut statuses = self.statuses();
        statuses.shutting_down = true;
        for sender in statuses.services.values() {
            if sender.borrow().is_some() {
                sender.send_replace(Some(ServingStatus::NotServing));
            }
        }
    }

    /// Turns every status back to SERVING and accepts changes again (grpc-go's `Resume`).
    pub fn resume(&self) {
        let mut statuses = self.statuses();
        statuses.shutting_down = false;
        for sender in statuses.services.values() {
            if sender.borrow().is_some() {
                sender.send_replace(Some(ServingStatus::Serving));
            }
        }
    }

    /// How many services have a channel (a status or a watcher), and how many watchers there
    /// are: what `Watch` streams hold, for tests that check they let go.
    #[doc(hidden)]
    pub fn channels_and_watchers(&self) -> (usize, usize) {
        let statuses = self.statuses();
        (statuses.services.len(), statuses.services.values().map(watch::Sender::receiver_count).sum())
    }

    /// A receiver of `service`'s status, creating the channel for an unknown service.
    fn subscribe(&self, service: &str) -> watch::Receiver<Option<ServingStatus>> {
        let mut statuses = self.statuses();
        statuses.services.entry(service.to_owned()).or_insert_with(|| watch::Sender::new(None)).subscribe()
    }
}

/// Sets `service`'s status, telling watchers only of a change.
fn set(statuses: &mut Statuses, service: &str, status: Option<ServingStatus>) {
    match statuses.services.get(service) {
        Some(sender) => {
            sender.send_if_modified(|current| std::mem::replace(current, status) != status);
        }
        None if status.is_some() => {
            statuses.services.insert(service.to_owned(), watch::Sender::new(status));
        }
        None => {}
    }
}

/// Drops the channel of an unknown service nobody watches, so watches on names that never
/// get a status leave nothing behind.
fn forget_if_unused(statuses: &mut Statuses, service: &str) {
    let unused = statuses.services.get(service).is_some_and(|s| s.borrow().is_none() && s.receiver_count() == 0);
    if unused {
        statuses.services.remove(service);
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses = self.statuses();
        let mut known: Vec<(&str, ServingStatus)> =
            statuses.services.iter().filter_map(|(name, s)| s.borrow().map(|status| (name.as_str(), status))).collect();
        known.sort();
        f.debug_struct("Health").field("statuses", &known).field("shutting_down", &statuses.shutting_down).finish()
    }
}

fn response(status: Option<ServingStatus>) -> HealthCheckResponse {
    HealthCheckResponse { status: status.unwrap_or(ServingStatus::ServiceUnknown) as i32 }
}

impl HealthServicer for Health {
    async fn check(&self, request: HealthCheckRequest, _context: ServicerContext) -> Result<HealthCheckResponse> {
        match self.status(&request.service) {
            Some(status) => Ok(response(Some(status))),
            None => Err(RpcError::not_found(format!("unknown service {:?}", request.service))),
        }
    }

    async fn watch(
        &self,
        request: HealthCheckRequest,
        _context: ServicerContext,
    ) -> Result<ResponseStream<HealthCheckResponse>> {
        let watcher = Watcher {
            health: self.clone(),
            receiver: Some(self.subscribe(&request.service)),
            service: request.service,
        };
        let updates = futures_util::stream::unfold((watcher, None), |(mut watcher, last)| async move {
            let receiver = watcher.receiver.as_mut()?;
            loop {
                let status = *receiver.borrow_and_update();
                if last != Some(status) {
                    return Some((Ok(response(status)), (watcher, Some(status))));
                }
                // Ends only if the channel goes, which `Health` never does while it is watched.
                receiver.changed().await.ok()?;
            }
        });
        Ok(ResponseStream::new(updates))
    }

    async fn list(&self, _request: HealthListRequest, _context: ServicerContext) -> Result<HealthListResponse> {
        let statuses = self.statuses();
        let known = statuses
            .services
            .iter()
            .filter_map(|(name, sender)| sender.borrow().map(|status| (name.clone(), response(Some(status)))));
        Ok(HealthListResponse { statuses: known.collect() })
    }
}

/// One `Watch` stream's hold on its service's channel; let go when the stream is dropped (the
/// call ended, or the client cancelled it).
struct Watcher {
    health: Health,
    service: String,
    receiver: Option<watch::Receiver<Option<ServingStatus>>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.receiver.take());
        forget_if_unused(&mut self.health.statuses(), &self.service);
    }
}

/// Serves the health service on `server` with `health`'s statuses (Python's
/// `health_pb2_grpc.add_HealthServicer_to_server`). When the server stops, `health` enters
/// graceful shutdown before the server drains, so every status reads NOT_SERVING.
pub fn add_health_servicer_to_server(health: Health, server: &Server) -> Result<(), Error> {
    let on_stop = health.clone();
    proto::add_health_servicer_to_server(health, server)?;
    server.on_stop(move || on_stop.enter_graceful_shutdown());
    Ok(())
}
