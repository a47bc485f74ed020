//! `devstack events`: the dead letters of a running stack's broker.

use talentgraph_launch::non_blank_variable;

use crate::{DEFAULT_NATS_PORT, DevstackError};

/// The broker a running dev stack uses.
async fn running_broker() -> Result<talentgraph_kit::events::Broker, DevstackError> {
    let url = non_blank_variable("NATS_URL").unwrap_or_else(|| {
        let port = std::env::var("DEVSTACK_NATS_PORT")
            .ok()
            .and_then(|port| port.parse().ok())
            .unwrap_or(DEFAULT_NATS_PORT);
        format!("nats://127.0.0.1:{port}")
    });
    let address = url.trim_start_matches("nats://").to_owned();
    if std::net::TcpStream::connect(&address).is_err() {
        return Err(DevstackError::Usage(format!(
            "no NATS server at {url}: start the stack with `devstack up` first"
        )));
    }
    talentgraph_kit::events::Broker::connect(&url, "devstack-events")
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))
}

#[allow(clippy::print_stdout)]
pub async fn list_dead_letters() -> Result<(), DevstackError> {
    let letters = running_broker()
        .await?
        .dead_letters()
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))?;
    if letters.is_empty() {
        println!("no dead letters");
    }
    for letter in letters {
        println!(
            "{}\t{}\t{}\t{}",
            letter.sequence, letter.consumer, letter.original_subject, letter.error
        );
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub async fn replay_dead_letter(sequence: u64) -> Result<(), DevstackError> {
    running_broker()
        .await?
        .replay_dead_letter(sequence)
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))?;
    println!("replayed dead letter {sequence}");
    Ok(())
}
