//! `Op::SendControl`: control requests reach an instance only in the statuses
//! the caller allows.

mod common;

use common::*;
use weft_core::{EventKind, HistoryEvent, Message, RuntimeStatus, ScheduleId, Timestamp};
use weft_store::{Op, OpError, OpOutcome};

use RuntimeStatus::*;

fn control(kind: EventKind) -> Message {
    Message::new(HistoryEvent::new(Timestamp(40), kind))
}

fn terminate() -> Message {
    control(EventKind::ExecutionTerminated {
        reason: Some("stop".into()),
        recurse: false,
    })
}

fn rewind() -> Message {
    control(EventKind::ExecutionRewound {
        reason: None,
        voided: vec![ScheduleId(0)],
    })
}

/// Durable Functions' terminate rule.
const TERMINABLE: [RuntimeStatus; 4] = [Pending, Running, ContinuedAsNew, Suspended];

fn send(instance: &str, message: Message, allowed: &[RuntimeStatus]) -> Op {
    Op::SendControl {
        instance: id(instance),
        message,
        allowed: allowed.to_vec(),
    }
}

#[test]
fn delivered_in_an_allowed_status() {
    let (_dir, store) = fresh();
    one(&store, create("a", "e1", 1)).unwrap();
    let Ok(OpOutcome::Delivered { inbox_seq }) = one(&store, send("a", terminate(), &TERMINABLE))
    else {
        panic!("terminate of a Pending instance must be delivered");
    };
    assert_eq!(
        store.inbox(&id("a")).unwrap().last().unwrap(),
        &(inbox_seq, terminate())
    );

    // Rewind goes to a Failed instance, which RaiseEvent would refuse as gone.
    run_turn(&store, "a", 2, Failed);
    assert_eq!(
        one(
            &store,
            Op::RaiseEvent {
                instance: id("a"),
                message: event_raised("x"),
            }
        ),
        Err(OpError::Gone(Failed))
    );
    let Ok(OpOutcome::Delivered { inbox_seq: seq2 }) = one(&store, send("a", rewind(), &[Failed]))
    else {
        panic!("rewind of a Failed instance must be delivered");
    };
    assert!(seq2 > inbox_seq);
    assert_eq!(
        store.inbox(&id("a")).unwrap().last().unwrap(),
        &(seq2, rewind())
    );
}

#[test]
fn refused_in_another_status_with_nothing_written() {
    let (_dir, store) = fresh();
    for (name, status) in [("r", Running), ("c", Completed), ("s", Suspended)] {
        one(&store, create(name, "e1", 1)).unwrap();
        run_turn(&store, name, 1, status);
    }
    let before = snapshot(&store);
    // Resume is only for Suspended; rewind only for Failed; terminate not for terminal.
    let resume = control(EventKind::ExecutionResumed { reason: None });
    assert_eq!(
        one(&store, send("r", resume.clone(), &[Suspended])),
        Err(OpError::WrongStatus(Running))
    );
    assert_eq!(
        one(&store, send("c", rewind(), &[Failed])),
        Err(OpError::WrongStatus(Completed))
    );
    assert_eq!(
        one(&store, send("c", terminate(), &TERMINABLE)),
        Err(OpError::WrongStatus(Completed))
    );
    assert_eq!(
        one(&store, send("s", terminate(), &[])),
        Err(OpError::WrongStatus(Suspended)),
        "no allowed status: always refused"
    );
    assert_eq!(snapshot(&store), before);
    let message = OpError::WrongStatus(Completed).to_string();
    assert!(message.contains("Completed"), "{message}");

    assert!(matches!(
        one(&store, send("s", resume, &[Suspended])),
        Ok(OpOutcome::Delivered { .. })
    ));
}

#[test]
fn not_found_for_an_unknown_instance() {
    let (_dir, store) = fresh();
    assert_eq!(
        one(&store, send("ghost", terminate(), &TERMINABLE)),
        Err(OpError::NotFound)
    );
    assert!(store.inbox(&id("ghost")).unwrap().is_empty());
    assert!(store.all_inboxes().unwrap().is_empty());
}

#[test]
fn a_rejected_control_request_in_a_batch_leaves_no_trace() {
    let (_dir, store) = fresh();
    one(&store, create("a", "e1", 1)).unwrap();
    run_turn(&store, "a", 1, Completed);
    let a_inbox = store.inbox(&id("a")).unwrap();

    let results = store
        .commit(vec![
            create("b", "e1", 2),
            send("a", terminate(), &TERMINABLE),
            send("b", terminate(), &TERMINABLE),
            send("nobody", terminate(), &TERMINABLE),
            send("b", rewind(), &[Failed]),
        ])
        .unwrap();
    assert!(matches!(results[0], Ok(OpOutcome::Created { .. })));
    assert_eq!(results[1], Err(OpError::WrongStatus(Completed)));
    assert!(
        matches!(results[2], Ok(OpOutcome::Delivered { .. })),
        "sees the create earlier in the batch"
    );
    assert_eq!(results[3], Err(OpError::NotFound));
    assert_eq!(results[4], Err(OpError::WrongStatus(Pending)));

    assert_eq!(store.inbox(&id("a")).unwrap(), a_inbox);
    assert!(store.instance(&id("nobody")).unwrap().is_none());
    let b: Vec<Message> = store
        .inbox(&id("b"))
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(b, vec![start_message("e1"), terminate()]);
    assert_eq!(store.instance_count().unwrap(), 2);
}
