//! The one way the kit connects to Redis (the rate limits' shared windows
//! and the entity cache): a multiplexed connection that connects lazily
//! and reconnects by itself, so a Redis that is down when the subgraph
//! starts, or goes away later, only means its users fall back meanwhile.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A lazily connected, self-reconnecting connection to the Redis at `url`;
/// fails only on a URL the client cannot parse. Callers bound each command
/// by their own timeout of a few milliseconds.
pub fn lazy_connection(url: &str) -> Result<ConnectionManager, String> {
    let client = redis::Client::open(url).map_err(|error| error.to_string())?;
    let config = ConnectionManagerConfig::new()
        // A connection attempt to a Redis that is stopped (not down) must
        // not hold the reconnection for long.
        .set_connection_timeout(Some(Duration::from_millis(500)))
        // Callers give up after their own timeout; a reply that never
        // comes must not keep its slot forever.
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_lazy_with_config(client, config).map_err(|error| error.to_string())
}
