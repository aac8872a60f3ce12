//! Conformance suite over the `Storage` trait: every backend must pass the
//! same cases. A backend joins with a `Backend` impl (`common/backend.rs`)
//! and one line in the `backends!` list below; a case joins with a `pub fn
//! name<B: Backend>()` in one of the modules and its name in `backends!`.

#[path = "../common/mod.rs"]
mod common;
mod hubs;
mod instances;
mod purge;
mod registry;

use common::backend::{Postgres, Redb};
use hubs::*;
use instances::*;
use purge::*;
use registry::*;

macro_rules! backends {
    ($($module:ident: $backend:ty),* $(,)?) => {$(
        mod $module {
            use super::*;
            cases!($backend;
                create_conflict_and_replace_terminal,
                turn_writes_everything_and_is_fenced,
                a_turn_may_consume_each_message_once,
                activity_completion_is_deduplicated,
                messages_for_an_old_execution_or_finished_instance_are_dropped,
                timers_insert_cancel_fire,
                raise_event_needs_a_live_instance,
                a_rejected_op_leaves_no_trace_while_its_neighbours_commit,
                reopen_keeps_everything_and_sequences_keep_increasing,
                put_component_is_idempotent,
                all_inboxes_groups_by_instance,
                list_instances_filters_and_pages,
                task_hubs_share_the_backend_and_nothing_else,
                outbox_is_written_with_the_turn_or_not_at_all,
                rewind_in_the_outbox_rewinds_a_failed_child_or_starts_it,
                continue_as_new_replaces_the_history_and_keeps_the_inbox,
                entity_messages_wait_in_its_inbox_and_a_turn_commits_state_and_outbox,
                entities_list_by_name_time_and_page_and_clean_removes_only_empty_ones,
                purge_by_id_deletes_everything_of_a_terminal_instance_and_nothing_else,
                purge_by_id_refuses_a_non_terminal_instance_and_deletes_nothing,
                purge_matching_never_deletes_a_non_terminal_instance,
                purge_matching_honours_time_range_prefix_and_limit,
                rejected_purges_in_a_batch_leave_no_trace_while_neighbours_commit,
                hubs_are_listed_and_deleted_whole,
                a_hub_can_delete_itself_and_start_again,
                a_handle_made_before_its_hub_was_deleted_writes_nothing,
                deploys_are_stored_once_and_the_last_new_one_is_current,
                no_task_hub_owns_the_registry,
                repin_is_fenced_on_the_history_it_was_checked_against,
            );
        }
    )*};
}

macro_rules! cases {
    ($backend:ty; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            super::$case::<$backend>();
        }
    )*};
}

backends! {
    redb: Redb,
    postgres: Postgres,
}
