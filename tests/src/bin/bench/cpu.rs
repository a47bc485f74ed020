//! CPU time by process from `/proc/<pid>/stat`, and `--router-own-core`'s
//! placement of processes on cores.

use crate::report::comma_separated;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// The processes whose CPU time is read, by label.
pub struct Processes {
    pub by_label: Vec<(&'static str, ProcessGroup)>,
}

/// The processes one label's CPU time is read from.
pub struct ProcessGroup {
    /// Processes that live through the whole run (the dev stack, the
    /// routers, NATS, this process).
    pub long_lived: Vec<u32>,
    /// A parent whose children come and go: PostgreSQL's postmaster forks
    /// one backend per connection, and the subgraphs' pools open most of
    /// theirs only once the load rises. So its children are listed again at
    /// every snapshot, and the time of children that exited is read from
    /// the parent's own count of its reaped children.
    pub forking_parent: Option<u32>,
}

impl ProcessGroup {
    pub fn long_lived(pids: Vec<u32>) -> Self {
        Self {
            long_lived: pids,
            forking_parent: None,
        }
    }

    pub fn snapshot(&self, ticks_per_second: f64) -> GroupSnapshot {
        let mut pids = self.long_lived.clone();
        let mut reaped_children_seconds = CpuSeconds::default();
        if let Some(parent) = self.forking_parent {
            pids.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
            reaped_children_seconds = process_times(parent)
                .map_or_else(CpuSeconds::default, |times| {
                    times.reaped_children.in_seconds(ticks_per_second)
                });
        }
        GroupSnapshot {
            seconds_by_pid: pids
                .into_iter()
                .filter_map(|pid| {
                    process_times(pid).map(|times| (pid, times.own.in_seconds(ticks_per_second)))
                })
                .collect(),
            reaped_children_seconds,
        }
    }
}

/// `--router-own-core`'s split of the cores this process may run on, as
/// `taskset -c` lists read them.
#[derive(Clone)]
pub struct CorePlacement {
    pub router_core: String,
    pub other_cores: String,
}

impl CorePlacement {
    pub fn of_this_process() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
        let cores = allowed_cores(&status);
        assert!(
            cores.len() >= 2,
            "--router-own-core needs two cores or more; this process may run on {cores:?}"
        );
        Self {
            router_core: cores[0].to_string(),
            other_cores: comma_separated(&cores[1..]),
        }
    }
}

/// The cores a process may run on, from the `Cpus_allowed_list` line of
/// its `/proc/PID/status` (`0-3,6`), so that a run confined to some of the
/// machine's cores (a container's cpuset) places processes on those.
pub fn allowed_cores(status: &str) -> Vec<usize> {
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(str::trim)
        .unwrap_or_default();
    let mut cores = Vec::new();
    for range in list.split(',').filter(|range| !range.is_empty()) {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) else {
            continue;
        };
        cores.extend(first..=last);
    }
    cores
}

/// Restricts every thread of `pid` to `cores` (a list as `taskset -c`
/// reads it).
pub fn place_on_cores(pid: u32, cores: &str) -> Result<(), String> {
    let output = Command::new("taskset")
        .args([
            "--all-tasks",
            "--cpu-list",
            "--pid",
            cores,
            &pid.to_string(),
        ])
        .output()
        .map_err(|error| format!("taskset (Debian's util-linux) does not run: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// CPU time split as the kernel accounts it: in the process's own code and
/// libraries (user) and in the kernel on its behalf (system).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuSeconds {
    pub user: f64,
    pub system: f64,
}

impl CpuSeconds {
    pub fn total(self) -> f64 {
        self.user + self.system
    }
}

impl std::ops::Add for CpuSeconds {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

impl std::ops::Sub for CpuSeconds {
    type Output = Self;

    fn sub(self, other: Self) -> Self {
        Self {
            user: self.user - other.user,
            system: self.system - other.system,
        }
    }
}

impl std::iter::Sum for CpuSeconds {
    fn sum<I: Iterator<Item = Self>>(iterator: I) -> Self {
        iterator.fold(Self::default(), |sum, seconds| sum + seconds)
    }
}

/// One group's CPU seconds at one moment.
pub struct GroupSnapshot {
    pub seconds_by_pid: HashMap<u32, CpuSeconds>,
    /// The forking parent's count for its children that exited and were
    /// reaped (`cutime` and `cstime`).
    pub reaped_children_seconds: CpuSeconds,
}

impl GroupSnapshot {
    /// The CPU seconds the group spent between `before` and `self`:
    /// each process's growth (all of it for one that started in between),
    /// plus what children reaped in between had spent, less what those of
    /// them that `before` saw had already spent by then.
    pub fn seconds_since(&self, before: &Self) -> CpuSeconds {
        let living: CpuSeconds = self
            .seconds_by_pid
            .iter()
            .map(|(pid, seconds)| {
                *seconds - before.seconds_by_pid.get(pid).copied().unwrap_or_default()
            })
            .sum();
        let exited_before_counted: CpuSeconds = before
            .seconds_by_pid
            .iter()
            .filter(|(pid, _)| !self.seconds_by_pid.contains_key(pid))
            .map(|(_, seconds)| *seconds)
            .sum();
        living + (self.reaped_children_seconds - before.reaped_children_seconds)
            - exited_before_counted
    }
}

pub fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((command, rest)) = stat
            .split_once(" (")
            .and_then(|(_, rest)| rest.rsplit_once(") "))
        else {
            continue;
        };
        let parent_pid: Option<u32> = rest.split(' ').nth(1).and_then(|field| field.parse().ok());
        if parent_pid == Some(parent) {
            children.push((pid, command.to_owned()));
        }
    }
    children
}

/// A process's CPU time from `/proc/PID/stat`, in clock ticks.
pub struct ProcessTimes {
    /// `utime` and `stime`: the process's own user and system time.
    pub own: CpuTicks,
    /// `cutime` and `cstime`: the time of its children that exited and
    /// were waited for.
    pub reaped_children: CpuTicks,
}

/// User and system time in clock ticks.
pub struct CpuTicks {
    pub user: f64,
    pub system: f64,
}

impl CpuTicks {
    pub fn in_seconds(&self, ticks_per_second: f64) -> CpuSeconds {
        CpuSeconds {
            user: self.user / ticks_per_second,
            system: self.system / ticks_per_second,
        }
    }
}

/// The CPU times of a process, or `None` once it has exited.
pub fn process_times(pid: u32) -> Option<ProcessTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    // Fields after the command: state is field 3; utime, stime, cutime and
    // cstime are fields 14 to 17.
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some(ProcessTimes {
        own: CpuTicks {
            user: ticks(11),
            system: ticks(12),
        },
        reaped_children: CpuTicks {
            user: ticks(13),
            system: ticks(14),
        },
    })
}

/// The processes a run starts beside the dev stack, whose CPU is read too.
#[derive(Default)]
pub struct ReferenceProcesses {
    /// The ceiling's Apollo Router and Hive Router: counted as "router",
    /// since only the router serving the run does work.
    pub routers: Vec<u32>,
    /// The subgraphs answering from memory, a column of their own.
    pub recorded_subgraphs: Option<u32>,
    /// Standalone replicas of one subgraph (scale-out): counted as
    /// "subgraphs" with the dev stack.
    pub subgraph_replicas: Vec<u32>,
}

impl Processes {
    pub fn find(devstack: u32, postmaster: u32, references: &ReferenceProcesses) -> Self {
        let children = children_of(devstack);
        let pids_named = |name: &str| -> Vec<u32> {
            children
                .iter()
                .filter(|(_, command)| command.starts_with(name))
                .map(|(pid, _)| *pid)
                .collect()
        };
        let mut routers = pids_named("router");
        routers.extend(&references.routers);
        let mut by_label = vec![
            ("router", ProcessGroup::long_lived(routers)),
            (
                "subgraphs",
                ProcessGroup::long_lived(
                    std::iter::once(devstack)
                        .chain(references.subgraph_replicas.iter().copied())
                        .collect(),
                ),
            ),
            (
                "PostgreSQL",
                ProcessGroup {
                    long_lived: vec![postmaster],
                    forking_parent: Some(postmaster),
                },
            ),
            ("NATS", ProcessGroup::long_lived(pids_named("nats-server"))),
            // Rate-limit windows and the entity cache.
            (
                "Redis",
                ProcessGroup::long_lived(pids_named("redis-server")),
            ),
            (
                "load generator",
                ProcessGroup::long_lived(vec![std::process::id()]),
            ),
        ];
        if let Some(recorded_subgraphs) = references.recorded_subgraphs {
            by_label.push((
                "recorded subgraphs",
                ProcessGroup::long_lived(vec![recorded_subgraphs]),
            ));
        }
        Self { by_label }
    }

    /// `--router-own-core`: every router on the first core, every other
    /// process of the run (and the dev stack's other children, such as the
    /// payment provider) on the rest. PostgreSQL's backends forked later
    /// inherit the postmaster's cores, and threads started later their
    /// process's.
    #[allow(clippy::print_stdout)]
    pub fn give_the_routers_a_core_of_their_own(&self, devstack: u32, placement: &CorePlacement) {
        let CorePlacement {
            router_core,
            other_cores,
        } = placement;
        let routers: Vec<u32> = self
            .by_label
            .iter()
            .filter(|(label, _)| *label == "router")
            .flat_map(|(_, group)| group.long_lived.iter().copied())
            .collect();
        let mut others: Vec<u32> = Vec::new();
        for (label, group) in &self.by_label {
            if *label == "router" {
                continue;
            }
            others.extend(&group.long_lived);
            if let Some(parent) = group.forking_parent {
                others.push(parent);
                others.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
            }
        }
        for parent in [devstack, std::process::id()] {
            others.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
        }
        others.sort_unstable();
        others.dedup();
        others.retain(|pid| !routers.contains(pid));
        for pid in &routers {
            place_on_cores(*pid, router_core)
                .unwrap_or_else(|error| panic!("placing router {pid}: {error}"));
        }
        for pid in &others {
            // A PostgreSQL backend may exit between the listing and here.
            if let Err(error) = place_on_cores(*pid, other_cores)
                && Path::new(&format!("/proc/{pid}")).exists()
            {
                panic!("placing process {pid}: {error}");
            }
        }
        println!(
            "placed {} router process(es) on core {router_core} and {} other process(es) on cores {other_cores}",
            routers.len(),
            others.len()
        );
    }

    pub fn snapshot(&self, ticks_per_second: f64) -> Vec<GroupSnapshot> {
        self.by_label
            .iter()
            .map(|(_, group)| group.snapshot(ticks_per_second))
            .collect()
    }
}

pub fn postmaster_pid(root: &Path) -> u32 {
    let file = root.join("target/devstack/postgres/data/postmaster.pid");
    std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| {
            text.lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("{} names the PostgreSQL server", file.display()))
}

pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_cores_are_read_from_the_status_list() {
        let status =
            "Name:\tbench\nCpus_allowed:\t4f\nCpus_allowed_list:\t0-3,6\nMems_allowed:\t1\n";
        assert_eq!(allowed_cores(status), vec![0, 1, 2, 3, 6]);
        assert_eq!(allowed_cores("Cpus_allowed_list:\t1\n"), vec![1]);
        assert!(allowed_cores("Name:\tbench\n").is_empty());
    }

    /// A process placed on one core may run only there, every thread of
    /// it, as the kernel reports it.
    #[test]
    fn a_placed_process_runs_only_on_its_cores() {
        let own = std::fs::read_to_string("/proc/self/status").expect("reads its status");
        let core = *allowed_cores(&own).last().expect("at least one core");
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let placed = place_on_cores(sleeper.id(), &core.to_string());
        let status = std::fs::read_to_string(format!("/proc/{}/status", sleeper.id()))
            .expect("reads the sleeper's status");
        sleeper.kill().expect("stops the sleeper");
        sleeper.wait().expect("reaps the sleeper");
        placed.expect("taskset places the process");
        assert_eq!(allowed_cores(&status), vec![core]);
    }

    /// A snapshot whose system time is a tenth of its user time, so the
    /// two sums can be told apart.
    fn snapshot(user_seconds_by_pid: &[(u32, f64)], reaped_children_user: f64) -> GroupSnapshot {
        let split = |user: f64| CpuSeconds {
            user,
            system: user / 10.0,
        };
        GroupSnapshot {
            seconds_by_pid: user_seconds_by_pid
                .iter()
                .map(|(pid, user)| (*pid, split(*user)))
                .collect(),
            reaped_children_seconds: split(reaped_children_user),
        }
    }

    #[test]
    fn a_group_counts_children_that_started_or_exited_during_the_window() {
        // In user time: the parent (1) spends 1 s. Backend 2 lives
        // throughout and spends 2 s. Backend 3 had spent 4 s and exits with
        // 7 s in all, so 3 s fall in the window. Backend 4 starts in the
        // window and spends 5 s. Backend 5 starts and exits in the window,
        // spending 6 s. Each spends a tenth of that in system time.
        let before = snapshot(&[(1, 10.0), (2, 20.0), (3, 4.0)], 100.0);
        let after = snapshot(&[(1, 11.0), (2, 22.0), (4, 5.0)], 100.0 + 7.0 + 6.0);
        let seconds = after.seconds_since(&before);
        let user = 1.0 + 2.0 + 3.0 + 5.0 + 6.0;
        assert!((seconds.user - user).abs() < 1e-9, "{seconds:?}");
        assert!((seconds.system - user / 10.0).abs() < 1e-9, "{seconds:?}");
        assert!((seconds.total() - user * 1.1).abs() < 1e-9, "{seconds:?}");
    }

    #[test]
    fn a_parent_counts_the_time_of_its_reaped_children() {
        let before = process_times(std::process::id()).expect("this process is alive");
        // A child that spends at least a few clock ticks, then is waited for.
        let status = Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let after = process_times(std::process::id()).expect("this process is alive");
        let reaped =
            |times: &ProcessTimes| times.reaped_children.user + times.reaped_children.system;
        assert!(
            reaped(&after) > reaped(&before),
            "cutime + cstime did not grow: {} then {}",
            reaped(&before),
            reaped(&after)
        );
        assert!(process_times(u32::MAX).is_none());
    }
}
