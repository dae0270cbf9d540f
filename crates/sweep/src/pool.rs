//! The driver's one worker pool: training, fitting and probing hand it their items.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::SweepError;

/// How many workers, and whether each gets cores of its own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Workers {
    pub jobs: usize,
    /// Each worker runs inside a rayon pool of its share of the cores. Burn's flex backend parallelises
    /// large ops with rayon on the current pool; with one pool shared by training workers, a worker
    /// waiting for a sub-task another worker had stolen spun idle (docs/PERFORMANCE.md: the same sweep
    /// took 7 to 10 s from run to run). One pool per worker keeps them independent.
    pub own_cores: bool,
}

/// Runs `work` on every item, each worker taking the next item when it is free, and returns the
/// results in the items' order. Once `stop` is set no worker takes another item: those are `None`.
pub(crate) fn for_each<T: Send, R: Send>(
    items: Vec<T>,
    workers: Workers,
    stop: Option<&AtomicBool>,
    work: impl Fn(T) -> R + Sync,
) -> crate::Result<Vec<Option<R>>> {
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<VecDeque<_>>());
    let results: Vec<Mutex<Option<R>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let worker = || {
        while !stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            let Some((index, item)) = queue.lock().unwrap().pop_front() else { break };
            let result = work(item);
            *results[index].lock().unwrap() = Some(result);
        }
    };
    let jobs = workers.jobs.max(1);
    let threads = jobs.min(count.max(1));
    if workers.own_cores {
        let cores = (crate::default_jobs() / jobs).max(1);
        let pools = (0..threads)
            .map(|_| rayon::ThreadPoolBuilder::new().num_threads(cores).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SweepError::Other(format!("cannot start the worker threads: {e}")))?;
        std::thread::scope(|scope| {
            for pool in &pools {
                scope.spawn(|| pool.install(worker));
            }
        });
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(worker);
            }
        });
    }
    Ok(results.into_iter().map(|r| r.into_inner().unwrap()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_worked_once_and_results_keep_the_items_order() {
        for (jobs, own_cores) in [(1, false), (3, false), (2, true), (8, false)] {
            let seen = Mutex::new(Vec::new());
            let out = for_each((0..20).collect(), Workers { jobs, own_cores }, None, |i: i32| {
                seen.lock().unwrap().push(i);
                i * 10
            })
            .unwrap();
            assert_eq!(out, (0..20).map(|i| Some(i * 10)).collect::<Vec<_>>());
            let mut seen = seen.into_inner().unwrap();
            seen.sort();
            assert_eq!(seen, (0..20).collect::<Vec<_>>());
        }
    }

    #[test]
    fn after_a_stop_no_item_is_taken() {
        let stop = AtomicBool::new(false);
        let out = for_each((0..10).collect(), Workers { jobs: 1, own_cores: false }, Some(&stop), |i: i32| {
            if i == 3 {
                stop.store(true, Ordering::Relaxed);
            }
            i
        })
        .unwrap();
        assert_eq!(out[..4], [Some(0), Some(1), Some(2), Some(3)]);
        assert!(out[4..].iter().all(Option::is_none));
    }
}
