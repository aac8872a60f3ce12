//! The client API of durable entities: signal, read, list, clean
//! (Durable Functions' `SignalEntityAsync`, `ReadEntityStateAsync`,
//! `ListEntitiesAsync`, `CleanEntityStorageAsync`).

use super::errors::ClientError;
use super::task_hub::TaskHub;
use weft_core::{EntityId, Json};
use weft_store::{EntityPage, EntityQuery, EntityRecord, Op, OpOutcome};

/// Rows [`TaskHub::clean_entity_storage`] deletes per transaction.
const CLEAN_BATCH: usize = 1000;

/// Most entities one page lists.
pub const MAX_ENTITY_PAGE: usize = 1000;

impl TaskHub {
    /// Signals operation `operation` with `input` on `entity` (one way).
    /// Returns once the signal is durable; the entity need not exist (its
    /// first operation creates it).
    pub async fn signal_entity(
        &self,
        entity: &EntityId,
        operation: &str,
        input: Json,
    ) -> Result<(), ClientError> {
        if operation.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the operation name is empty; name the entity operation to run (?op=NAME)".into(),
            ));
        }
        let shared = self.shared();
        {
            let registry = shared.registry.read().expect("registry lock");
            if registry.entity(entity.name()).is_none() {
                return Err(ClientError::UnknownEntity {
                    name: entity.name().to_owned(),
                    known: registry.entity_names(),
                });
            }
        }
        let message =
            super::entity_turn::operation_request(operation, input, None, shared.clock.now());
        match shared
            .store
            .submit(Op::SignalEntity {
                entity: entity.clone(),
                message: message.clone(),
            })
            .await?
        {
            Ok(OpOutcome::Delivered { inbox_seq }) => {
                shared.deliver(entity.instance_id(), inbox_seq, message);
                Ok(())
            }
            Ok(other) => Err(ClientError::Internal(format!("signal answered {other:?}"))),
            Err(e) => Err(ClientError::Internal(e.to_string())),
        }
    }

    /// The entity's row when it exists (has state); `None` otherwise.
    pub async fn entity(&self, entity: &EntityId) -> Result<Option<EntityRecord>, ClientError> {
        Ok(self
            .shared()
            .store
            .entity(entity)
            .await?
            .filter(|r| r.state.is_some()))
    }

    /// One page of entities matching `query` (at most [`MAX_ENTITY_PAGE`]),
    /// and the continuation (an entity ID) for the next.
    pub async fn list_entities(&self, query: &EntityQuery) -> Result<EntityPage, ClientError> {
        let mut query = query.clone();
        query.top = match query.top {
            0 => 100,
            n => n.min(MAX_ENTITY_PAGE),
        };
        Ok(self.shared().store.list_entities(&query).await?)
    }

    /// Deletes the rows of entities that have no state, no lock and nothing
    /// waiting (Durable Functions' `CleanEntityStorage`). Returns how many.
    pub async fn clean_entity_storage(&self) -> Result<u64, ClientError> {
        let mut total = 0;
        loop {
            let op = Op::CleanEntities { limit: CLEAN_BATCH };
            match self.shared().store.submit(op).await? {
                Ok(OpOutcome::Purged { instances }) => {
                    total += instances;
                    if (instances as usize) < CLEAN_BATCH {
                        return Ok(total);
                    }
                }
                Ok(other) => {
                    return Err(ClientError::Internal(format!("clean answered {other:?}")));
                }
                Err(e) => return Err(ClientError::Internal(e.to_string())),
            }
        }
    }
}
