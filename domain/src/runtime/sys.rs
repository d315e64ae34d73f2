//! The few OS calls the process runtime needs: signalling a process group and identifying a process
//! (pid + start time, so a recycled pid is never mistaken for one of ours).

/// Sends `signal` to every process in the group `pgid`. Returns false if the group no longer exists.
#[allow(unsafe_code)]
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) takes plain integers and has no memory-safety preconditions; a negative pid
    // addresses the process group, and pgid > 1 so we never signal init or every process.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGKILL: i32 = libc::SIGKILL;

/// The start time (clock ticks since boot) of a running process, from `/proc/<pid>/stat`.
pub fn process_start_time(pid: i32) -> Option<i64> {
    stat_fields(pid).map(|f| f.start_time)
}

/// True if `pid` is alive (not a zombie) and is the same process that had `start_time`.
pub fn is_same_process(pid: i32, start_time: i64) -> bool {
    stat_fields(pid).is_some_and(|f| f.state != 'Z' && f.start_time == start_time)
}

/// Makes `cmd` run at a lower CPU priority (`nice -n <niceness>`), so build steps never starve the
/// apps that serve: set in the child between fork and exec, inherited by everything it starts.
#[allow(unsafe_code)]
pub fn lower_priority(cmd: &mut tokio::process::Command, niceness: i32) {
    // SAFETY: the closure makes one setpriority(2) syscall with integer arguments (async-signal-safe,
    // no allocation, no locks). Raising one's own niceness needs no privilege.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpriority(libc::PRIO_PROCESS, 0, niceness) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// True when Rhone runs as root (and so can run apps under their own users).
#[allow(unsafe_code)]
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The fields of `/proc/<pid>/stat` Rhone uses.
#[derive(Debug, Clone, Copy)]
pub struct StatFields {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub start_time: i64,
}

pub fn stat_fields(pid: i32) -> Option<StatFields> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) is in parentheses and may contain spaces: parse after the last ')'
    let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    // rest[0] is field 3 (state), so field n is rest[n - 3]
    Some(StatFields {
        state: rest.first()?.chars().next()?,
        ppid: rest.get(1)?.parse().ok()?,
        pgrp: rest.get(2)?.parse().ok()?,
        start_time: rest.get(19)?.parse().ok()?,
    })
}

/// Every live (non-zombie) process in the system, with its stat fields.
pub fn all_processes() -> Vec<(i32, StatFields)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat_fields(pid)?)))
        .filter(|(_, f)| f.state != 'Z')
        .collect()
}

/// The live members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    if pgid <= 1 {
        return Vec::new();
    }
    all_processes().into_iter().filter(|(_, f)| f.pgrp == pgid).map(|(p, _)| p).collect()
}

/// Waits until no live (non-zombie) member of the process group is left. Polls `/proc` every
/// 20 ms: only used while a version stops, never on a request path.
pub async fn wait_group_gone(pgid: i32) {
    while !group_members(pgid).is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// SIGKILLs a process group and waits (up to `limit`) until none of its members is left.
/// Returns true when the group is gone.
pub async fn kill_group_and_wait(pgid: i32, limit: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        signal_group(pgid, SIGKILL);
        if group_members(pgid).is_empty() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_stable_start_time() {
        let me = std::process::id() as i32;
        let t = process_start_time(me).expect("start time of self");
        assert!(is_same_process(me, t));
        assert!(!is_same_process(me, t + 1));
        let f = stat_fields(me).expect("stat of self");
        assert_eq!(f.ppid, std::os::unix::process::parent_id() as i32);
    }

    #[tokio::test]
    async fn a_killed_group_is_gone_with_its_grandchildren() {
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new("sh").args(["-c", "sleep 300 & sleep 300 & wait"]).process_group(0).spawn().unwrap();
        let pgid = child.id() as i32;
        for _ in 0..100 {
            if group_members(pgid).len() >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(group_members(pgid).len() >= 3, "sh and two sleeps are in the group");
        let reaper = std::thread::spawn(move || { let mut c = child; c.wait() });
        assert!(kill_group_and_wait(pgid, std::time::Duration::from_secs(5)).await);
        assert!(group_members(pgid).is_empty());
        reaper.join().unwrap().unwrap();
    }

    #[test]
    fn refuses_to_signal_init_or_everyone() {
        assert!(!signal_group(0, 0));
        assert!(!signal_group(1, 0));
    }
}
