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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) is in parentheses and may contain spaces: parse after the last ')'
    let rest = &stat[stat.rfind(')')? + 2..];
    // fields after ')' start at field 3; starttime is field 22
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// True if `pid` is alive and is the same process that had `start_time`.
pub fn is_same_process(pid: i32, start_time: i64) -> bool {
    process_start_time(pid) == Some(start_time)
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
    }

    #[test]
    fn refuses_to_signal_init_or_everyone() {
        assert!(!signal_group(0, 0));
        assert!(!signal_group(1, 0));
    }
}
