//! `round_robin`: a subchannel per address, each connected and reconnected on its own; calls
//! take the ready ones in turn (the picker in `mod.rs`).

use std::sync::Arc;

use tokio::sync::Notify;

use crate::client::resolver::address::Address;
use crate::client::subchannel::{Connector, Subchannel};

/// The subchannels after a lookup found `addresses`: those of addresses still listed kept (with
/// their connections), new ones made, the others shut down (their calls in flight finish).
pub(crate) fn update(
    subchannels: &mut Vec<Arc<Subchannel>>,
    addresses: &[Address],
    connector: &Arc<Connector>,
    changed: &Arc<Notify>,
) {
    let mut next = Vec::with_capacity(addresses.len());
    for address in addresses {
        if next.iter().any(|s: &Arc<Subchannel>| s.is_for(address)) {
            continue;
        }
        let position = subchannels.iter().position(|s| s.is_for(address));
        next.push(match position {
            Some(i) => subchannels.swap_remove(i),
            None => Subchannel::new(connector.clone(), vec![address.clone()], changed.clone()),
        });
    }
    for gone in subchannels.drain(..) {
        gone.shutdown(false);
    }
    *subchannels = next;
}
