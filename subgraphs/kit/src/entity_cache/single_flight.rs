//! One statement per missing entity at a time in a process.
//!
//! When a popular entity leaves the cache (it expired, or a write
//! invalidated it), every request that shows it misses at once, and
//! without coordination each would read it from PostgreSQL: the
//! stampede a cache is meant to prevent. Here the first load to miss an
//! entity leads its *flight* and reads it; loads that miss it meanwhile
//! follow the flight and get the leader's row. A follower whose leader
//! fails, is cancelled or takes longer than [`FOLLOW_TIMEOUT`] reads the
//! entity itself, so a slow leader delays its followers by at most that.
//!
//! A flight is keyed by the tag version its leader's lookup saw: a load
//! that starts after an invalidation sees the new version and starts a
//! flight of its own instead of taking a row read before the write.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use super::Version;

/// How long a follower waits for its leader's row.
pub const FOLLOW_TIMEOUT: Duration = Duration::from_secs(1);

/// A row as a flight carries it: the loader's `Arc<Row>`.
pub type FlightRow = Arc<dyn Any + Send + Sync>;

#[derive(Clone)]
enum FlightState {
    Reading,
    Read(Option<FlightRow>),
    Failed,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct FlightKey {
    entity: &'static str,
    shape: u64,
    id: Uuid,
    version: Version,
}

/// The flights of one process.
#[derive(Default)]
pub struct Flights {
    open: Mutex<HashMap<FlightKey, watch::Receiver<FlightState>>>,
}

/// What a load does about one missing entity.
pub enum Claim<'a> {
    /// Read it, then [`FlightLead::land`] the row.
    Lead(FlightLead<'a>),
    /// Wait for another load's row ([`follow`]).
    Follow(Follower),
}

impl Flights {
    pub fn claim(&self, entity: &'static str, shape: u64, id: Uuid, version: Version) -> Claim<'_> {
        let key = FlightKey {
            entity,
            shape,
            id,
            version,
        };
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(receiver) = open.get(&key) {
            return Claim::Follow(Follower {
                receiver: receiver.clone(),
            });
        }
        let (sender, receiver) = watch::channel(FlightState::Reading);
        open.insert(key.clone(), receiver);
        Claim::Lead(FlightLead {
            flights: self,
            key,
            sender,
            landed: false,
        })
    }

    /// How many flights are open (tests).
    pub fn open_count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn close(&self, key: &FlightKey) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// The load that reads a missing entity for everyone who misses it now.
/// Dropped without landing (its statement failed, or its request was
/// cancelled), it tells its followers to read for themselves.
pub struct FlightLead<'a> {
    flights: &'a Flights,
    key: FlightKey,
    sender: watch::Sender<FlightState>,
    landed: bool,
}

impl FlightLead<'_> {
    pub fn id(&self) -> Uuid {
        self.key.id
    }

    /// Hands the row read (`None`: there is no such entity) to the
    /// followers and closes the flight.
    pub fn land(mut self, row: Option<FlightRow>) {
        self.flights.close(&self.key);
        self.sender.send_replace(FlightState::Read(row));
        self.landed = true;
    }
}

impl Drop for FlightLead<'_> {
    fn drop(&mut self) {
        if !self.landed {
            self.flights.close(&self.key);
            self.sender.send_replace(FlightState::Failed);
        }
    }
}

/// A load waiting for another load's row.
pub struct Follower {
    receiver: watch::Receiver<FlightState>,
}

/// What a follower got: the leader's row (`Some(None)`: the entity does
/// not exist), or `None` when it must read the entity itself.
pub async fn follow(mut follower: Follower) -> Option<Option<FlightRow>> {
    let waited = tokio::time::timeout(
        FOLLOW_TIMEOUT,
        follower
            .receiver
            .wait_for(|state| !matches!(state, FlightState::Reading)),
    )
    .await;
    match waited {
        Ok(Ok(state)) => match &*state {
            FlightState::Read(row) => Some(row.clone()),
            FlightState::Reading | FlightState::Failed => None,
        },
        // Late, or the leader's sender is gone without a word.
        Ok(Err(_)) | Err(_) => None,
    }
}
