//! What a channel with a service config keeps (`channel.rs` holds it): the parsed config, the
//! retry throttle, and the replay budget its calls share.

use std::sync::Arc;

use crate::client::retry::budget::ChannelBudget;
use crate::client::retry::throttle::Throttle;
use crate::client::service_config::ServiceConfig;

/// What a channel with a service config keeps: the config, its throttle, and the bytes its
/// calls hold for replay.
#[derive(Debug)]
pub(crate) struct Configured {
    pub(crate) config: ServiceConfig,
    pub(crate) throttle: Option<Throttle>,
    pub(crate) budget: Arc<ChannelBudget>,
}

impl Configured {
    pub(crate) fn new(config: ServiceConfig) -> Configured {
        let throttle = config.throttling.map(Throttle::new);
        Configured { config, throttle, budget: Arc::default() }
    }
}
