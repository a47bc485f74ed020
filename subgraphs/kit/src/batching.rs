//! Per-request DataLoaders that load a batch as soon as the request has
//! nothing else to do, instead of after a fixed time window.
//!
//! A resolver that needs a row asks its request's loader for it and waits;
//! the loader gathers the keys of all such resolvers and reads them with one
//! statement. The question is when to stop gathering. async-graphql's
//! DataLoader waits a fixed window, and every dependent level of a request
//! pays that window again (2 ms per level in production, a large share of a
//! four-level page's latency). A window is also only a guess: keys that
//! arrive after it split the batch into two statements.
//!
//! The loaders here wait for the request instead. [`RequestActivity`] wraps
//! the future that executes the GraphQL operation and knows whether that
//! future is being polled, and whether it has been woken and not yet polled
//! again. When it is neither, every resolver that could ask for a key in this
//! round has asked and is waiting, so the batch is complete and is loaded at
//! once. That costs no timer, and the statement count does not depend on the
//! machine's speed. A fixed window stays available (`DATALOADER_DELAY_MS`
//! above zero) for comparison.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use crate::errors::internal_error;

/// Whether one request's GraphQL execution is running or could run now.
///
/// Cloning shares the state: the HTTP layer tracks the execution with one
/// clone, the request's loaders wait on others.
#[derive(Clone, Debug, Default)]
pub struct RequestActivity(Arc<ActivityState>);

#[derive(Debug, Default)]
struct ActivityState {
    /// The execution is being tracked: started and not finished.
    tracked: AtomicBool,
    /// The execution future is being polled right now.
    polling: AtomicBool,
    /// The execution future was woken and has not been polled since.
    woken: AtomicBool,
    /// Batches handing out their answers now. Each answer wakes the
    /// execution, which may run on another thread before the last answer is
    /// out; until then it is not idle, or the resolvers answered first would
    /// start the next level's batch without the others' keys.
    answering_batches: AtomicUsize,
    /// Wakes loaders waiting for the execution to go idle.
    went_idle: Notify,
}

impl RequestActivity {
    /// Runs `execution`, recording when it is polled and woken. Loaders
    /// wait for it to go idle only while this runs; before and after, they
    /// load at once.
    pub async fn track<F: Future>(&self, execution: F) -> F::Output {
        let state = self.0.clone();
        // Dropped when the execution finishes, and also when it is cancelled
        // (the client went away) or panics: waiting loaders must not wait for
        // an execution that will never be polled again.
        let _tracking = Tracking::start(state.clone());
        let mut execution = Box::pin(execution);
        let mut recording_waker: Option<(Arc<RecordingWaker>, Waker)> = None;
        std::future::poll_fn(|context| {
            let waker = match &recording_waker {
                Some((recording, waker)) => {
                    recording.forward_to(context.waker());
                    waker.clone()
                }
                None => {
                    let recording = Arc::new(RecordingWaker {
                        state: state.clone(),
                        forward_to: Mutex::new(context.waker().clone()),
                    });
                    let waker = Waker::from(recording.clone());
                    recording_waker = Some((recording, waker.clone()));
                    waker
                }
            };
            state.woken.store(false, Ordering::SeqCst);
            state.polling.store(true, Ordering::SeqCst);
            let poll = execution.as_mut().poll(&mut Context::from_waker(&waker));
            state.polling.store(false, Ordering::SeqCst);
            if !state.woken.load(Ordering::SeqCst) {
                state.went_idle.notify_waiters();
            }
            poll
        })
        .await
    }

    fn is_idle(&self) -> bool {
        let state = &self.0;
        !state.tracked.load(Ordering::SeqCst)
            || !(state.polling.load(Ordering::SeqCst)
                || state.woken.load(Ordering::SeqCst)
                || state.answering_batches.load(Ordering::SeqCst) > 0)
    }

    /// Marks a batch as handing out answers until the guard is dropped.
    fn answering(&self) -> AnsweringBatch {
        self.0.answering_batches.fetch_add(1, Ordering::SeqCst);
        AnsweringBatch(self.0.clone())
    }

    /// Resolves once the execution is neither being polled nor about to be.
    pub async fn until_idle(&self) {
        loop {
            let went_idle = self.0.went_idle.notified();
            tokio::pin!(went_idle);
            // Registered before the check, so a notification between the
            // check and the wait is not lost.
            went_idle.as_mut().enable();
            if self.is_idle() {
                return;
            }
            went_idle.await;
        }
    }
}

/// An execution being tracked, from its start until it is dropped.
struct Tracking(Arc<ActivityState>);

impl Tracking {
    fn start(state: Arc<ActivityState>) -> Self {
        state.tracked.store(true, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        self.0.tracked.store(false, Ordering::SeqCst);
        self.0.polling.store(false, Ordering::SeqCst);
        self.0.went_idle.notify_waiters();
    }
}

/// A batch handing out its answers; see `answering_batches`.
struct AnsweringBatch(Arc<ActivityState>);

impl Drop for AnsweringBatch {
    fn drop(&mut self) {
        self.0.answering_batches.fetch_sub(1, Ordering::SeqCst);
        // Waiters check again; the execution, woken by the answers, has
        // usually been scheduled and they go on waiting for it.
        self.0.went_idle.notify_waiters();
    }
}

/// The waker handed to the execution future: it notes that the future was
/// woken, then wakes the task that runs it.
struct RecordingWaker {
    state: Arc<ActivityState>,
    forward_to: Mutex<Waker>,
}

impl RecordingWaker {
    fn forward_to(&self, waker: &Waker) {
        let mut forward_to = lock(&self.forward_to);
        if !forward_to.will_wake(waker) {
            forward_to.clone_from(waker);
        }
    }
}

impl Wake for RecordingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.state.woken.store(true, Ordering::SeqCst);
        lock(&self.forward_to).wake_by_ref();
    }
}

/// A lock whose data stays usable after a panic elsewhere: every critical
/// section here leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// When a loader stops gathering keys and loads them.
#[derive(Clone, Debug)]
pub enum BatchGathering {
    /// When the request's execution goes idle (the default).
    UntilRequestIdle(RequestActivity),
    /// After a fixed window from the first key (`DATALOADER_DELAY_MS` > 0).
    FixedWindow(Duration),
}

impl BatchGathering {
    async fn wait(&self) {
        match self {
            Self::UntilRequestIdle(activity) => activity.until_idle().await,
            Self::FixedWindow(window) => tokio::time::sleep(*window).await,
        }
    }

    fn answering(&self) -> Option<AnsweringBatch> {
        match self {
            Self::UntilRequestIdle(activity) => Some(activity.answering()),
            Self::FixedWindow(_) => None,
        }
    }
}

/// What a loader reads: values for many keys at once. A key missing from
/// the answer has no value (a null to the resolver).
pub trait BatchLoad: Send + Sync + 'static {
    type Key: Send + Sync + Hash + Eq + Clone + 'static;
    type Value: Send + Sync + Clone + 'static;

    fn load(
        &self,
        keys: &[Self::Key],
    ) -> impl Future<Output = async_graphql::Result<LoaderMap<Self::Key, Self::Value>>> + Send;
}

/// The map a loader keeps its keys in, and the one a [`BatchLoad`] answers
/// with.
///
/// The standard map's SipHash is built to resist keys chosen to collide,
/// and costs accordingly: counted with `bench --count-instructions`, the
/// loaders' hashing was about a third of jobseeker's calls into SipHash
/// under JobSearchPage, and with foldhash jobseeker executes 3 % fewer
/// instructions per page. foldhash still seeds each map from a
/// per-process random value, so a client cannot
/// precompute colliding ids; and the keys of one request are few, bounded
/// by the operation checks' representation and complexity limits, so even
/// a bad run of collisions stays inside one small request.
pub type LoaderMap<Key, Value> = HashMap<Key, Value, foldhash::fast::RandomState>;

type Answer<Value> = async_graphql::Result<Option<Value>>;

/// A per-request loader: gathers keys, loads them in one batch, and
/// remembers every answer for the rest of the request (an entity asked for
/// twice is read once, an absent one included). Errors are not remembered.
pub struct RequestLoader<Source: BatchLoad> {
    shared: Arc<LoaderShared<Source>>,
}

struct LoaderShared<Source: BatchLoad> {
    source: Source,
    gathering: BatchGathering,
    state: Mutex<LoaderState<Source::Key, Source::Value>>,
}

struct LoaderState<Key, Value> {
    known: LoaderMap<Key, Option<Value>>,
    waiting: LoaderMap<Key, Vec<oneshot::Sender<Answer<Value>>>>,
    batch_scheduled: bool,
}

impl<Source: BatchLoad> RequestLoader<Source> {
    pub fn new(source: Source, gathering: BatchGathering) -> Self {
        Self {
            shared: Arc::new(LoaderShared {
                source,
                gathering,
                state: Mutex::new(LoaderState {
                    known: LoaderMap::default(),
                    waiting: LoaderMap::default(),
                    batch_scheduled: false,
                }),
            }),
        }
    }

    /// The value for `key`, loaded in the current batch unless already known.
    pub async fn load_one(&self, key: Source::Key) -> Answer<Source::Value> {
        let answer = {
            let mut state = lock(&self.shared.state);
            if let Some(known) = state.known.get(&key) {
                return Ok(known.clone());
            }
            let (sender, answer) = oneshot::channel();
            state.waiting.entry(key).or_default().push(sender);
            if !state.batch_scheduled {
                state.batch_scheduled = true;
                tokio::spawn(run_batch(self.shared.clone()));
            }
            answer
        };
        answer.await.unwrap_or_else(|_| {
            Err(internal_error(
                "a DataLoader batch ended without answering (it panicked)",
            ))
        })
    }

    /// The value for `key` when this request already knows it (fed, or
    /// loaded by an earlier batch), without scheduling a load: `None` when
    /// it is not known yet, `Some(None)` when it is known to be absent.
    /// For resolvers that use a value only if it costs nothing, such as a
    /// [`PlainObject`](crate::graphql::plain_fields::PlainObject) built
    /// from it.
    pub fn known(&self, key: &Source::Key) -> Option<Option<Source::Value>> {
        lock(&self.shared.state).known.get(key).cloned()
    }

    /// The values for `keys` that exist, in one batch.
    pub async fn load_many(
        &self,
        keys: impl IntoIterator<Item = Source::Key>,
    ) -> async_graphql::Result<LoaderMap<Source::Key, Source::Value>> {
        let keys: Vec<Source::Key> = keys.into_iter().collect();
        let answers =
            futures::future::try_join_all(keys.iter().cloned().map(|key| self.load_one(key)))
                .await?;
        Ok(keys
            .into_iter()
            .zip(answers)
            .filter_map(|(key, value)| value.map(|value| (key, value)))
            .collect())
    }

    /// Remembers values read some other way (a list query that already
    /// holds the rows), so asking for them later costs no statement.
    pub fn feed_many(&self, values: impl IntoIterator<Item = (Source::Key, Source::Value)>) {
        let mut state = lock(&self.shared.state);
        for (key, value) in values {
            state.known.insert(key, Some(value));
        }
    }
}

async fn run_batch<Source: BatchLoad>(shared: Arc<LoaderShared<Source>>) {
    shared.gathering.wait().await;
    let waiting = {
        let mut state = lock(&shared.state);
        state.batch_scheduled = false;
        std::mem::take(&mut state.waiting)
    };
    if waiting.is_empty() {
        return;
    }
    let keys: Vec<Source::Key> = waiting.keys().cloned().collect();
    let loaded = shared.source.load(&keys).await;
    let _answering = shared.gathering.answering();
    match loaded {
        Ok(mut found) => {
            let mut answered = Vec::with_capacity(waiting.len());
            {
                let mut state = lock(&shared.state);
                for (key, senders) in waiting {
                    let value = found.remove(&key);
                    state.known.insert(key, value.clone());
                    answered.push((value, senders));
                }
            }
            for (value, senders) in answered {
                for sender in senders {
                    // A resolver that stopped waiting (its request was
                    // cancelled) does not need the answer.
                    let _ = sender.send(Ok(value.clone()));
                }
            }
        }
        Err(error) => {
            for sender in waiting.into_values().flatten() {
                let _ = sender.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Doubles its keys and counts its batches.
    struct Doubling {
        batches: Arc<AtomicUsize>,
        largest_batch: Arc<AtomicUsize>,
    }

    impl BatchLoad for Doubling {
        type Key = u32;
        type Value = u32;

        async fn load(&self, keys: &[u32]) -> async_graphql::Result<LoaderMap<u32, u32>> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            self.largest_batch.fetch_max(keys.len(), Ordering::SeqCst);
            Ok(keys
                .iter()
                .filter(|key| **key != 0)
                .map(|key| (*key, key * 2))
                .collect())
        }
    }

    fn doubling(
        gathering: BatchGathering,
    ) -> (RequestLoader<Doubling>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let batches = Arc::new(AtomicUsize::new(0));
        let largest_batch = Arc::new(AtomicUsize::new(0));
        let loader = RequestLoader::new(
            Doubling {
                batches: batches.clone(),
                largest_batch: largest_batch.clone(),
            },
            gathering,
        );
        (loader, batches, largest_batch)
    }

    /// Two levels of a request: 300 resolvers ask for a key each, through a
    /// `FuturesUnordered` that yields to the runtime every 32 polls (as
    /// async-graphql's list resolution does), then each asks for a second
    /// key that depends on the first answer. Each level must be one batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_level_of_a_request_is_one_batch_without_a_window() {
        for _ in 0..50 {
            let activity = RequestActivity::default();
            let (loader, batches, largest_batch) =
                doubling(BatchGathering::UntilRequestIdle(activity.clone()));
            let loader = Arc::new(loader);
            let execution = {
                let loader = loader.clone();
                async move {
                    let resolvers: futures::stream::FuturesUnordered<_> = (1..=300u32)
                        .map(|key| {
                            let loader = loader.clone();
                            async move {
                                let first = loader.load_one(key).await?.unwrap_or_default();
                                loader.load_one(first + 1_000).await
                            }
                        })
                        .collect();
                    futures::StreamExt::collect::<Vec<_>>(resolvers).await
                }
            };
            let answers = activity.track(execution).await;
            assert_eq!(answers.len(), 300);
            assert!(answers.iter().all(|answer| matches!(answer, Ok(Some(_)))));
            assert_eq!(batches.load(Ordering::SeqCst), 2, "one batch per level");
            assert_eq!(largest_batch.load(Ordering::SeqCst), 300);
        }
    }

    /// A request cancelled while it was woken (its client went away) must
    /// not leave its batch waiting for it for ever.
    #[tokio::test]
    async fn a_cancelled_execution_releases_its_waiting_batch() {
        let activity = RequestActivity::default();
        let (loader, batches, _) = doubling(BatchGathering::UntilRequestIdle(activity.clone()));
        let execution = async {
            let mut waiting = Box::pin(loader.load_one(1));
            // Asks for the key, which schedules the batch...
            assert!(futures::poll!(&mut waiting).is_pending());
            // ...then wakes itself, so it is not idle, and is dropped before
            // it is polled again.
            std::future::poll_fn(|context| {
                context.waker().wake_by_ref();
                std::task::Poll::<()>::Pending
            })
            .await;
            waiting.await
        };
        let mut tracked = Box::pin(activity.track(execution));
        assert!(futures::poll!(&mut tracked).is_pending());
        tokio::task::yield_now().await;
        assert_eq!(
            batches.load(Ordering::SeqCst),
            0,
            "the batch waits for the woken execution"
        );
        drop(tracked);
        let loaded = tokio::time::timeout(Duration::from_secs(5), async {
            while batches.load(Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(loaded.is_ok(), "the batch loads once the execution is gone");
    }

    #[tokio::test]
    async fn answers_are_remembered_absent_ones_included() {
        let activity = RequestActivity::default();
        let (loader, batches, _) = doubling(BatchGathering::UntilRequestIdle(activity));
        assert_eq!(loader.load_one(4).await.ok().flatten(), Some(8));
        assert_eq!(loader.load_one(0).await.ok().flatten(), None);
        assert_eq!(loader.load_one(4).await.ok().flatten(), Some(8));
        assert_eq!(loader.load_one(0).await.ok().flatten(), None);
        loader.feed_many([(7, 70)]);
        assert_eq!(loader.load_one(7).await.ok().flatten(), Some(70));
        assert_eq!(batches.load(Ordering::SeqCst), 2);
        let many = loader.load_many([4, 0, 9]).await.ok().unwrap_or_default();
        assert_eq!(many, LoaderMap::from_iter([(4, 8), (9, 18)]));
        assert_eq!(batches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_fixed_window_gathers_the_keys_asked_for_within_it() {
        let (loader, batches, largest_batch) =
            doubling(BatchGathering::FixedWindow(Duration::from_millis(20)));
        let answers = futures::future::join_all((1..=10).map(|key| loader.load_one(key))).await;
        assert!(answers.iter().all(|answer| matches!(answer, Ok(Some(_)))));
        assert_eq!(batches.load(Ordering::SeqCst), 1);
        assert_eq!(largest_batch.load(Ordering::SeqCst), 10);
    }
}
