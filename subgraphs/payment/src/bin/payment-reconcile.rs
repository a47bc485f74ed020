//! Compares payment's books with themselves and with the provider; prints
//! one line per difference. Exit codes: 0 the books agree, 1 differences
//! were found, 2 it could not run (configuration, database, provider).
//! Configuration: `DATABASE_URL`, `PAYMENT_PROVIDER_URL`,
//! `PAYMENT_PROVIDER_SECRET_KEY` (as for the payment subgraph).

use std::process::ExitCode;

use talentgraph_kit::Database;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("payment-reconcile: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let config =
        match talentgraph_payment::SUBGRAPH.config_from_lookup(|name| std::env::var(name).ok()) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("payment-reconcile: {error}");
                return ExitCode::from(2);
            }
        };
    let payment = talentgraph_payment::settings::PaymentSettings::of(&config);
    let Some(provider) = &payment.provider else {
        eprintln!(
            "payment-reconcile: PAYMENT_PROVIDER_URL and PAYMENT_PROVIDER_SECRET_KEY are required"
        );
        return ExitCode::from(2);
    };
    let client = match talentgraph_payment::consumers::provider_client(provider, &payment) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("payment-reconcile: {error}");
            return ExitCode::from(2);
        }
    };
    let database = match Database::connect(
        &config.database_url,
        2,
        config.database_pool.acquire_timeout,
    )
    .await
    {
        Ok(database) => database,
        Err(error) => {
            eprintln!("payment-reconcile: cannot connect: {error}");
            return ExitCode::from(2);
        }
    };
    match talentgraph_payment::reconcile::reconcile(&database, &client).await {
        Ok(differences) if differences.is_empty() => {
            println!("the books agree with the provider");
            ExitCode::SUCCESS
        }
        Ok(differences) => {
            for difference in &differences {
                println!("{difference}");
            }
            println!("{} difference(s)", differences.len());
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("payment-reconcile: {error}");
            ExitCode::from(2)
        }
    }
}
