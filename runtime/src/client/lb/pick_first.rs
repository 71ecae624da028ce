//! `pick_first` (gRFC A62): one subchannel over every address, which connects to the first
//! that answers, in the resolver's order.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::client::resolver::address::Address;
use crate::client::subchannel::{Connector, Subchannel};

/// The subchannel after a lookup found `addresses`: made the first time, given the new list
/// after (it keeps its connection if its address is still listed). True if its connection was
/// to an address no longer listed: it connects again at once, to the new list.
pub(crate) fn update(
    subchannels: &mut Vec<Arc<Subchannel>>,
    addresses: &[Address],
    connector: &Arc<Connector>,
    changed: &Arc<Notify>,
) -> bool {
    match subchannels.first() {
        Some(subchannel) => subchannel.set_addresses(addresses.to_vec()),
        None => {
            subchannels.push(Subchannel::new(connector.clone(), addresses.to_vec(), changed.clone()));
            false
        }
    }
}
