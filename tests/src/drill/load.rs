//! The drill's load: clients that send through the router's proxy what
//! users do, one request after another, and record every attempt.
//!
//! Reads are the pages with varied variables (a random organization, job
//! or slug; signed in where the page needs it). Writes are sign-ups,
//! applications, postings and checkouts; each is retried on a failure the
//! way a real client retries, with the same idempotency: a checkout and a
//! posting keep their idempotency key, a sign-up its e-mail address, an
//! application its job, and a retry that finds its first attempt done
//! (`EMAIL_TAKEN`, `ALREADY_APPLIED`, a replayed purchase or posting)
//! counts as that write's success.
//! Every attempt is recorded, the failed ones included: a failure a client
//! had to retry is still a failure the drill reports.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};

use crate::answers::post_to_router;
use crate::pages::{operation_document, page_document};

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    /// No HTTP answer: the connection failed or was closed.
    Transport(String),
    /// An HTTP status other than 200.
    Status(u16),
    /// Answered 200 with an error code no correct answer carries.
    Code(String),
    /// A request whose connection failed before any answer, sent again at
    /// once by the client: a query as the web client does (it changes
    /// nothing), a write as a browser does on a reused connection, safe
    /// through its idempotency. What the user saw is the retry's outcome,
    /// recorded as its own attempt.
    RetriedByTheClient(String),
}

/// One attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Since the load started.
    pub at: Duration,
    pub latency: Duration,
    pub kind: &'static str,
    pub outcome: Outcome,
    /// For a failure, what the answer said (its first error message, or
    /// the transport error).
    pub detail: String,
}

/// An acknowledged write, for the data checks.
#[derive(Debug, Clone)]
pub enum Write {
    SignUp {
        email: String,
    },
    Application {
        applicant_email: String,
        job_id: String,
    },
    Checkout {
        idempotency_key: String,
    },
    Posting {
        idempotency_key: String,
        job_id: String,
    },
}

/// The drill's own document for posting a job (the web app has none).
pub const POST_JOB: &str = include_str!("PostJob.graphql");

/// How one recorded attempt went, for its sender.
#[derive(Debug, PartialEq)]
enum Sent {
    Answered(Value),
    Failed,
    /// A transport failure the client sends again.
    Retry,
}

/// What the load recorded so far.
#[derive(Debug, Default)]
pub struct Recording {
    pub attempts: Vec<Attempt>,
    pub acknowledged: Vec<Write>,
}

/// Error codes that are correct answers to the drill's requests: a retried
/// write that finds its first attempt done, a job closed meanwhile.
const DOMAIN_ANSWERS: [&str; 1] = ["CONFLICT"];

/// Running load; stopped by [`Load::stop`].
pub struct Load {
    recording: Arc<Mutex<Recording>>,
    started: Instant,
    stop: tokio::sync::watch::Sender<bool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

struct Client {
    http: reqwest::Client,
    router_url: String,
    world: DemoWorld,
    recording: Arc<Mutex<Recording>>,
    started: Instant,
    random: rand::rngs::StdRng,
    /// This client's own jobseeker account (signed up at its start).
    jobseeker: (String, String),
    recruiter_token: String,
}

impl Load {
    /// Starts `clients` clients against `router_url`.
    pub async fn start(router_url: &str, world: DemoWorld, clients: usize) -> Self {
        let recording = Arc::new(Mutex::new(Recording::default()));
        let started = Instant::now();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client");
        let recruiter_token =
            sign_in(&http, router_url, &world.email(world.demo_recruiter())).await;
        let mut handles = Vec::new();
        for index in 0..clients {
            let mut client = Client {
                http: http.clone(),
                router_url: router_url.to_owned(),
                world,
                recording: recording.clone(),
                started,
                random: rand::rngs::StdRng::seed_from_u64(index as u64 + 1),
                jobseeker: (String::new(), String::new()),
                recruiter_token: recruiter_token.clone(),
            };
            let mut stopped = stopped.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..20 {
                    if let Some(account) = client.sign_up().await {
                        client.jobseeker = account;
                        break;
                    }
                }
                assert!(
                    !client.jobseeker.0.is_empty(),
                    "a drill client could not sign up"
                );
                while !*stopped.borrow() {
                    client.one_request().await;
                    if stopped.has_changed().unwrap_or(true) && *stopped.borrow_and_update() {
                        break;
                    }
                }
            }));
        }
        Self {
            recording,
            started,
            stop,
            clients: handles,
        }
    }

    /// Since the load started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the clients (each finishes its request) and returns what they
    /// recorded.
    pub async fn stop(self) -> Recording {
        let _ = self.stop.send(true);
        for client in self.clients {
            let _ = client.await;
        }
        std::mem::take(
            &mut *self
                .recording
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// Signs a demo account in; panics when it cannot (the stack is not up).
async fn sign_in(http: &reqwest::Client, router_url: &str, email: &str) -> String {
    let body = json!({
        "query": operation_document("SignIn"),
        "operationName": "SignIn",
        "variables": { "input": { "email": email, "password": DEMO_PASSWORD } },
    });
    let answer: Value = http
        .post(router_url)
        .json(&body)
        .send()
        .await
        .expect("the router answers")
        .json()
        .await
        .expect("a JSON answer");
    answer["data"]["signIn"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{email} signs in: {answer}"))
        .to_owned()
}

impl Client {
    /// Sends `body` and records the attempt; the answer's body when it was
    /// a correct one.
    async fn attempt(
        &mut self,
        kind: &'static str,
        token: Option<&str>,
        body: &Value,
    ) -> Option<Value> {
        match self.attempt_recorded(kind, token, body, false).await {
            Sent::Answered(answer) => Some(answer),
            Sent::Failed | Sent::Retry => None,
        }
    }

    /// [`Client::attempt`]; with `client_retries`, a transport failure is
    /// recorded as retried by the client and answered [`Sent::Retry`].
    async fn attempt_recorded(
        &mut self,
        kind: &'static str,
        token: Option<&str>,
        body: &Value,
        client_retries: bool,
    ) -> Sent {
        let at = self.started.elapsed();
        let sent = Instant::now();
        let (outcome, answer) =
            match post_to_router(&self.http, &self.router_url, token, body, &[]).await {
                Err(error) => (Outcome::Transport(transport_kind(&error)), None),
                Ok(raw) => {
                    let answer = raw.parsed.ok().map(|(body, _)| body);
                    let code = answer.as_ref().and_then(first_unexpected_code);
                    match (raw.status, code) {
                        (200, None) => (Outcome::Ok, answer),
                        (200, Some(code)) => (Outcome::Code(code), answer),
                        (status, _) => (Outcome::Status(status), answer),
                    }
                }
            };
        let (outcome, retry) = match outcome {
            Outcome::Transport(why) if client_retries => (Outcome::RetriedByTheClient(why), true),
            other => (other, false),
        };
        let ok = outcome == Outcome::Ok;
        let detail = if ok {
            String::new()
        } else {
            let mut detail = answer
                .as_ref()
                .map(|answer| answer["errors"].to_string())
                .unwrap_or_else(|| format!("{outcome:?}"));
            detail.truncate(400);
            detail
        };
        self.recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .attempts
            .push(Attempt {
                at,
                latency: sent.elapsed(),
                kind,
                outcome,
                detail,
            });
        match (ok, answer, retry) {
            (true, Some(answer), _) => Sent::Answered(answer),
            (_, _, true) => Sent::Retry,
            _ => Sent::Failed,
        }
    }

    /// A read (a page): on a transport failure, sent once more at once.
    async fn read(&mut self, kind: &'static str, token: Option<&str>, body: &Value) {
        if self.attempt_recorded(kind, token, body, true).await == Sent::Retry {
            self.attempt(kind, token, body).await;
        }
    }

    /// A write: retried up to four times as a client would, 200 ms apart
    /// after an answer that failed, at once after a closed connection; the
    /// answer that ended it.
    async fn write(
        &mut self,
        kind: &'static str,
        token: Option<&str>,
        body: &Value,
    ) -> Option<Value> {
        const ATTEMPTS: usize = 4;
        for attempt in 1..=ATTEMPTS {
            // A connection closed before any answer is sent again at once,
            // as a browser does on a reused connection; the write's
            // idempotency (and the data checks) make that safe. Not on the
            // last attempt: there is no retry left, so it is a failure.
            let client_retries = attempt < ATTEMPTS;
            match self
                .attempt_recorded(kind, token, body, client_retries)
                .await
            {
                Sent::Answered(answer) => return Some(answer),
                Sent::Retry => {}
                Sent::Failed => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        None
    }

    fn acknowledge(&self, write: Write) {
        self.recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .acknowledged
            .push(write);
    }

    /// Signs a new jobseeker up and in; `None` when the sign-up failed even
    /// after the retries (the failures are recorded).
    async fn sign_up(&mut self) -> Option<(String, String)> {
        let email = format!(
            "drill-{}@drill.talentgraph.dev",
            uuid::Uuid::new_v4().simple()
        );
        let body = json!({
            "query": operation_document("SignUp"),
            "operationName": "SignUp",
            "variables": { "input": { "email": email, "password": "drill passphrase 1", "role": "JOBSEEKER" } },
        });
        self.write("signUp", None, &body).await?;
        self.acknowledge(Write::SignUp {
            email: email.clone(),
        });
        let token = sign_in_with(&self.http, &self.router_url, &email, "drill passphrase 1").await;
        Some((email, token))
    }

    async fn one_request(&mut self) {
        let world = self.world;
        let roll = self.random.gen_range(0..100);
        let organization = world.organization_id(self.random.gen_range(0..world.organizations));
        let job = world.job_id(self.random.gen_range(0..world.jobs));
        let (jobseeker_email, jobseeker_token) = self.jobseeker.clone();
        let recruiter_token = self.recruiter_token.clone();
        let page = |name: &str, variables: Value| json!({ "query": page_document(name), "operationName": name, "variables": variables });
        match roll {
            0..=29 => {
                let body = page(
                    "JobSearchPage",
                    json!({ "first": 10, "filter": { "organizationId": organization.to_string() } }),
                );
                self.read("JobSearchPage", Some(&jobseeker_token), &body)
                    .await;
            }
            30..=44 => {
                let body = page(
                    "JobDetailPage",
                    json!({ "jobId": job.to_string(), "internshipsFirst": 5 }),
                );
                self.read("JobDetailPage", Some(&jobseeker_token), &body)
                    .await;
            }
            45..=54 => {
                let body = page(
                    "InternshipBrowsePage",
                    json!({ "first": 10, "filter": { "organizationId": organization.to_string() } }),
                );
                self.read("InternshipBrowsePage", None, &body).await;
            }
            55..=64 => {
                let body = page("JobseekerDashboardPage", json!({ "first": 10 }));
                self.read("JobseekerDashboardPage", Some(&jobseeker_token), &body)
                    .await;
            }
            65..=74 => {
                let body = page(
                    "EmployerDashboardPage",
                    json!({ "jobsFirst": 10, "applicationsFirst": 5 }),
                );
                self.read("EmployerDashboardPage", Some(&recruiter_token), &body)
                    .await;
            }
            75..=86 => {
                let body = json!({
                    "query": operation_document("ApplyToJob"),
                    "operationName": "ApplyToJob",
                    "variables": { "jobId": job.to_string(), "coverLetter": "Drill." },
                });
                let answer = self
                    .write("applyToJob", Some(&jobseeker_token), &body)
                    .await;
                let applied = answer.is_some_and(|answer| {
                    answer["data"]["applyToJob"]["id"].is_string()
                        || answer["errors"][0]["extensions"]["reason"] == "ALREADY_APPLIED"
                });
                if applied {
                    self.acknowledge(Write::Application {
                        applicant_email: jobseeker_email,
                        job_id: job.to_string(),
                    });
                }
            }
            87..=89 => {
                let key = uuid::Uuid::new_v4().to_string();
                let body = json!({
                    "query": POST_JOB,
                    "operationName": "PostJob",
                    "variables": {
                        "input": {
                            "organizationId": world.organization_id(0).to_string(),
                            "title": "Drill posting",
                            "description": "Posted by the drill's load.",
                            "location": "Lisbon",
                            "employmentType": "FULL_TIME",
                        },
                        "idempotencyKey": key,
                    },
                });
                let answer = self.write("postJob", Some(&recruiter_token), &body).await;
                if let Some(job_id) = answer
                    .as_ref()
                    .and_then(|answer| answer["data"]["postJob"]["id"].as_str())
                {
                    self.acknowledge(Write::Posting {
                        idempotency_key: key,
                        job_id: job_id.to_owned(),
                    });
                }
            }
            90..=94 => {
                let key = uuid::Uuid::new_v4().to_string();
                let body = page(
                    "CheckoutPage",
                    json!({
                        "input": {
                            "organizationId": world.organization_id(0).to_string(),
                            "credits": 1,
                            "paymentMethod": "pm_card_visa",
                        },
                        "idempotencyKey": key,
                    }),
                );
                if self
                    .write("checkout", Some(&recruiter_token), &body)
                    .await
                    .is_some()
                {
                    self.acknowledge(Write::Checkout {
                        idempotency_key: key,
                    });
                }
            }
            _ => {
                if let Some(account) = self.sign_up().await {
                    self.jobseeker = account;
                }
            }
        }
    }
}

async fn sign_in_with(
    http: &reqwest::Client,
    router_url: &str,
    email: &str,
    password: &str,
) -> String {
    for _ in 0..20 {
        let body = json!({
            "query": operation_document("SignIn"),
            "operationName": "SignIn",
            "variables": { "input": { "email": email, "password": password } },
        });
        if let Ok(response) = http.post(router_url).json(&body).send().await
            && let Ok(answer) = response.json::<Value>().await
            && let Some(token) = answer["data"]["signIn"]["accessToken"].as_str()
        {
            return token.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{email} could not sign in after signing up")
}

/// The error code in `answer` that says what went wrong, when it carries
/// one that no correct answer carries: `SERVICE_UNAVAILABLE` when any
/// error says so (the router adds its own `SUBREQUEST_HTTP_ERROR` for the
/// subgraph's 503), else the first code other than the router's wrapper.
fn first_unexpected_code(answer: &Value) -> Option<String> {
    let codes: Vec<String> = answer["errors"]
        .as_array()?
        .iter()
        .map(|error| {
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("NO_CODE")
                .to_owned()
        })
        .filter(|code| !DOMAIN_ANSWERS.contains(&code.as_str()))
        .collect();
    if codes.iter().any(|code| code == "SERVICE_UNAVAILABLE") {
        return Some("SERVICE_UNAVAILABLE".to_owned());
    }
    codes
        .iter()
        .find(|code| *code != "SUBREQUEST_HTTP_ERROR")
        .or(codes.first())
        .cloned()
}

/// What kind of transport failure `error` is, in a word.
fn transport_kind(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
