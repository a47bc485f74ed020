//! The images `docker-compose.yml` runs, built on a machine that reaches
//! only the package registries: a Debian base made with `mmdebstrap` and
//! imported (cached as a tarball, so it is made once per machine), the
//! subgraph image from the host's release binaries (the `Dockerfile`'s
//! `prebuilt` path), the router image from the pinned router binary, and
//! PostgreSQL, NATS, Redis and the edge's HAProxy from Debian's packages
//! (`deploy/images/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use talentgraph_launch::docker::{Dockerd, checked_output};

/// The image names the smoke gives compose (`*_IMAGE` variables).
#[derive(Debug, Clone)]
pub struct SmokeImages {
    pub subgraphs: String,
    pub router: String,
    pub postgres: String,
    pub nats: String,
    pub redis: String,
    /// HAProxy, the edge in front of the router.
    pub edge: String,
}

impl SmokeImages {
    pub fn compose_variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SUBGRAPHS_IMAGE", self.subgraphs.clone()),
            ("ROUTER_IMAGE", self.router.clone()),
            ("POSTGRES_IMAGE", self.postgres.clone()),
            ("NATS_IMAGE", self.nats.clone()),
            ("REDIS_IMAGE", self.redis.clone()),
            ("EDGE_IMAGE", self.edge.clone()),
        ]
    }
}

/// A Debian base image: its name in the engine and the packages in it.
struct Base {
    image: &'static str,
    packages: &'static [&'static str],
}

/// What the subgraphs and the router run on: certificates and curl (the
/// health checks), the same as the `Dockerfile`'s Debian path installs.
const RUNTIME_BASE: Base = Base {
    image: "talentgraph/runtime-base:bookworm",
    packages: &["ca-certificates", "curl"],
};

/// What the PostgreSQL, NATS, Redis and edge (HAProxy) images run on.
const SERVICES_BASE: Base = Base {
    image: "talentgraph/services-base:bookworm",
    packages: &[
        "ca-certificates",
        "curl",
        "postgresql-15",
        "nats-server",
        "redis-server",
        "haproxy",
    ],
};

/// mmdebstrap's options besides the packages: the smallest variant, no
/// documentation, and the user the subgraphs and the router run as.
const MMDEBSTRAP_OPTIONS: &[&str] = &[
    "--variant=minbase",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--customize-hook=chroot \"$1\" useradd --system --uid 10001 --no-create-home talentgraph",
];

/// The tarball of `base` in `cache`, made with mmdebstrap when missing. Its
/// name carries a digest of the packages and options, so a change makes a
/// new one and an unchanged base is never made again.
fn base_tarball(cache: &Path, base: &Base) -> Result<PathBuf, String> {
    let recipe = format!("{MMDEBSTRAP_OPTIONS:?} {:?}", base.packages);
    let digest = schema_registry::trusted_documents::document_sha256(&recipe);
    let name = base.image.replace(['/', ':'], "-");
    let tarball = cache.join(format!("{name}-{}.tar", &digest[..12]));
    if tarball.exists() {
        eprintln!(
            "compose-smoke: base {} from {}",
            base.image,
            tarball.display()
        );
        return Ok(tarball);
    }
    std::fs::create_dir_all(cache).map_err(|error| format!("{}: {error}", cache.display()))?;
    let partial = tarball.with_extension("partial.tar");
    eprintln!(
        "compose-smoke: making {} with mmdebstrap (about a minute)",
        tarball.display()
    );
    let mut command = Command::new("mmdebstrap");
    command
        .args(MMDEBSTRAP_OPTIONS)
        .arg(format!("--include={}", base.packages.join(",")))
        .arg("bookworm")
        .arg(&partial);
    checked_output("mmdebstrap", command).map_err(|error| error.to_string())?;
    std::fs::rename(&partial, &tarball)
        .map_err(|error| format!("{}: {error}", tarball.display()))?;
    Ok(tarball)
}

/// Imports `base` into `engine` from its cached tarball.
fn import_base(engine: &Dockerd, cache: &Path, base: &Base) -> Result<(), String> {
    let tarball = base_tarball(cache, base)?;
    engine
        .docker(&["import", &tarball.display().to_string(), base.image])
        .map(drop)
        .map_err(|error| error.to_string())
}

/// `docker build` in `engine`.
fn build(engine: &Dockerd, arguments: &[&str]) -> Result<(), String> {
    // The engine has no default bridge, and nothing in these builds needs
    // a network: the bases hold every package.
    let mut all = vec!["build", "--quiet", "--network", "none"];
    all.extend_from_slice(arguments);
    engine
        .docker(&all)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// Builds every image the compose file needs into `engine`. `workspace` is
/// the repository (its `target/release` holds the subgraphs' binaries),
/// `router_binary` the pinned router, `scratch` a folder for the router's
/// build context, `cache` where base tarballs are kept.
pub fn build_images(
    engine: &Dockerd,
    workspace: &Path,
    router_binary: &Path,
    scratch: &Path,
    cache: &Path,
) -> Result<SmokeImages, String> {
    for binary in crate::compose_smoke::RELEASE_BINARIES {
        let path = workspace.join("target/release").join(binary);
        if !path.exists() {
            return Err(format!(
                "{} is not built: scripts/compose-smoke.sh builds the release binaries first",
                path.display()
            ));
        }
    }
    import_base(engine, cache, &RUNTIME_BASE)?;
    import_base(engine, cache, &SERVICES_BASE)?;
    let images = SmokeImages {
        subgraphs: "talentgraph/subgraphs:smoke".to_owned(),
        router: format!(
            "talentgraph/router:v{}-smoke",
            talentgraph_launch::router::APOLLO_ROUTER_VERSION
        ),
        postgres: "talentgraph/postgres:15-smoke".to_owned(),
        nats: "talentgraph/nats:2.9-smoke".to_owned(),
        redis: "talentgraph/redis:7-smoke".to_owned(),
        edge: "talentgraph/haproxy:2.6-smoke".to_owned(),
    };
    let runtime_base = format!("RUNTIME_BASE={}", RUNTIME_BASE.image);
    let services_base = format!("SERVICES_BASE={}", SERVICES_BASE.image);
    let workspace_text = workspace.display().to_string();
    eprintln!("compose-smoke: building {}", images.subgraphs);
    build(
        engine,
        &[
            "--file",
            &workspace.join("Dockerfile").display().to_string(),
            "--target",
            "runtime",
            "--build-arg",
            "BINARIES=prebuilt",
            "--build-arg",
            &runtime_base,
            "--tag",
            &images.subgraphs,
            &workspace_text,
        ],
    )?;
    eprintln!("compose-smoke: building {}", images.router);
    let router_context = scratch.join("router-context");
    std::fs::create_dir_all(&router_context)
        .map_err(|error| format!("{}: {error}", router_context.display()))?;
    std::fs::copy(router_binary, router_context.join("router"))
        .map_err(|error| format!("{}: {error}", router_binary.display()))?;
    let images_folder = workspace.join("deploy/images");
    build(
        engine,
        &[
            "--file",
            &images_folder
                .join("router.Dockerfile")
                .display()
                .to_string(),
            "--build-arg",
            &runtime_base,
            "--tag",
            &images.router,
            &router_context.display().to_string(),
        ],
    )?;
    // The copy of the router binary is in the image now.
    let _ = std::fs::remove_dir_all(&router_context);
    for (dockerfile, tag) in [
        ("postgres.Dockerfile", &images.postgres),
        ("nats.Dockerfile", &images.nats),
        ("redis.Dockerfile", &images.redis),
        ("haproxy.Dockerfile", &images.edge),
    ] {
        eprintln!("compose-smoke: building {tag}");
        build(
            engine,
            &[
                "--file",
                &images_folder.join(dockerfile).display().to_string(),
                "--build-arg",
                &services_base,
                "--tag",
                tag,
                &images_folder.display().to_string(),
            ],
        )?;
    }
    Ok(images)
}
