//! Which replica of a stage a record goes to. A stateless stage takes
//! records round-robin ([`RoundRobin`]). A keyed stage routes by slot: a
//! key's slot is a stable seeded hash of it ([`slot_of`], the same in every
//! build and on every restart), and a [`SlotTable`] says which replica owns
//! each slot. Rescaling ([`SlotTable::rescale`]) moves as few slots as it
//! must, so that as little state as possible changes hands.

use serde::{Deserialize, Serialize};

/// Slots of a keyed stage: the unit of ownership and of state moves.
pub const SLOTS: usize = 4096;

/// The hash seed of [`slot_of`]. Part of the stored format: changing it
/// sends every key to another slot, and so away from its state.
const SEED: u64 = 0x6661_6173_7274_736b; // "faasrtsk"

/// The slot of `key`.
pub fn slot_of(key: &[u8]) -> u16 {
    (xxhash_rust::xxh3::xxh3_64_with_seed(key, SEED) % SLOTS as u64) as u16
}

/// Round-robin over a stateless stage's replicas.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    next: usize,
    replicas: usize,
}

impl RoundRobin {
    /// Over `replicas` replicas (at least 1), starting at the first.
    pub fn new(replicas: usize) -> Self {
        RoundRobin {
            next: 0,
            replicas: replicas.max(1),
        }
    }

    /// The replica the next record goes to.
    pub fn next_replica(&mut self) -> usize {
        let replica = self.next;
        self.next = (self.next + 1) % self.replicas;
        replica
    }
}

/// One slot changing owner in a rescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotMove {
    /// The slot.
    pub slot: u16,
    /// Its owner before.
    pub from: u16,
    /// Its owner after.
    pub to: u16,
}

/// Which replica owns each slot of a keyed stage. Stored with each
/// checkpoint: an ownership change takes effect at a barrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotTable {
    /// `owners[slot]` is the replica that owns `slot`.
    owners: Vec<u16>,
    replicas: u16,
}

/// Why a slot table cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotTableError {
    /// Replicas outside `1..=SLOTS`.
    #[error("a keyed stage has between 1 and {SLOTS} replicas, not {0}")]
    Replicas(usize),
    /// A stored table that is not one: wrong length, or an owner that is
    /// not a replica.
    #[error("corrupt slot table: {0}")]
    Corrupt(String),
}

impl SlotTable {
    /// The table of a new keyed stage: `replicas` contiguous ranges of
    /// slots of equal size (the first `SLOTS % replicas` one slot larger).
    ///
    /// # Errors
    /// [`SlotTableError::Replicas`] outside `1..=SLOTS`.
    pub fn new(replicas: usize) -> Result<Self, SlotTableError> {
        let count = checked_replicas(replicas)?;
        let owners = (0..SLOTS)
            .map(|slot| (slot * replicas / SLOTS) as u16)
            .collect();
        Ok(SlotTable {
            owners,
            replicas: count,
        })
    }

    /// A stored table, checked: every slot owned by one of `replicas`.
    ///
    /// # Errors
    /// [`SlotTableError::Corrupt`] naming what is wrong.
    pub fn from_owners(owners: Vec<u16>, replicas: usize) -> Result<Self, SlotTableError> {
        let count = checked_replicas(replicas)?;
        if owners.len() != SLOTS {
            return Err(SlotTableError::Corrupt(format!(
                "{} slots, not {SLOTS}",
                owners.len()
            )));
        }
        if let Some((slot, owner)) = owners.iter().enumerate().find(|(_, o)| **o >= count) {
            return Err(SlotTableError::Corrupt(format!(
                "slot {slot} is owned by replica {owner} of {replicas}"
            )));
        }
        Ok(SlotTable {
            owners,
            replicas: count,
        })
    }

    /// The replica that owns `slot`.
    pub fn owner(&self, slot: u16) -> usize {
        usize::from(self.owners[usize::from(slot)])
    }

    /// The replica that owns `key`'s slot.
    pub fn owner_of_key(&self, key: &[u8]) -> usize {
        self.owner(slot_of(key))
    }

    /// How many replicas the table spreads the slots over.
    pub fn replicas(&self) -> usize {
        usize::from(self.replicas)
    }

    /// Every slot's owner, in slot order (what a checkpoint stores).
    pub fn owners(&self) -> &[u16] {
        &self.owners
    }

    /// The table for `replicas` replicas, and the slots that change owner.
    ///
    /// Each replica ends with its share of the slots (`SLOTS / replicas`,
    /// some one more), and as few slots as possible move: a replica keeps
    /// its own slots up to its share (the one-more shares go to the
    /// replicas that hold the most), slots of replicas that go away and
    /// slots past a share move to replicas below theirs, and nothing else
    /// moves.
    ///
    /// # Errors
    /// [`SlotTableError::Replicas`] outside `1..=SLOTS`.
    pub fn rescale(&self, replicas: usize) -> Result<(SlotTable, Vec<SlotMove>), SlotTableError> {
        let count = checked_replicas(replicas)?;
        let held = self.slots_held(replicas);
        let shares = shares(&held);
        let mut owners = self.owners.clone();
        let mut kept = vec![0usize; replicas];
        let mut homeless = Vec::new();
        for (slot, owner) in self.owners.iter().enumerate() {
            let owner = usize::from(*owner);
            if owner < replicas && kept[owner] < shares[owner] {
                kept[owner] += 1;
            } else {
                homeless.push(slot);
            }
        }
        let mut moves = Vec::with_capacity(homeless.len());
        let mut homeless = homeless.into_iter();
        for (replica, share) in shares.iter().enumerate() {
            while kept[replica] < *share {
                let slot = homeless.next().expect("shares add up to SLOTS");
                moves.push(SlotMove {
                    slot: slot as u16,
                    from: self.owners[slot],
                    to: replica as u16,
                });
                owners[slot] = replica as u16;
                kept[replica] += 1;
            }
        }
        debug_assert!(homeless.next().is_none(), "every slot has an owner");
        moves.sort_unstable_by_key(|m| m.slot);
        Ok((
            SlotTable {
                owners,
                replicas: count,
            },
            moves,
        ))
    }

    /// How many slots each of replicas `0..replicas` holds now.
    fn slots_held(&self, replicas: usize) -> Vec<usize> {
        let mut held = vec![0usize; replicas];
        for owner in &self.owners {
            if let Some(count) = held.get_mut(usize::from(*owner)) {
                *count += 1;
            }
        }
        held
    }
}

/// Each replica's share of the slots: `SLOTS / n`, plus one for the
/// `SLOTS % n` replicas that hold the most now (ties to the lower index),
/// so that the extra slots stay where they are when they can.
fn shares(held: &[usize]) -> Vec<usize> {
    let n = held.len();
    let mut shares = vec![SLOTS / n; n];
    let mut by_holdings: Vec<usize> = (0..n).collect();
    by_holdings.sort_by_key(|replica| (std::cmp::Reverse(held[*replica]), *replica));
    for replica in by_holdings.into_iter().take(SLOTS % n) {
        shares[replica] += 1;
    }
    shares
}

fn checked_replicas(replicas: usize) -> Result<u16, SlotTableError> {
    if replicas == 0 || replicas > SLOTS {
        return Err(SlotTableError::Replicas(replicas));
    }
    Ok(replicas as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fewest moves that can give every replica its share: the slots of
    /// replicas that go away, and each remaining replica's excess over the
    /// largest share it could have.
    fn fewest_moves(table: &SlotTable, replicas: usize) -> usize {
        let held = table.slots_held(replicas);
        let shares = shares(&held);
        let gone = SLOTS - held.iter().sum::<usize>();
        gone + held
            .iter()
            .zip(&shares)
            .map(|(h, s)| h.saturating_sub(*s))
            .sum::<usize>()
    }

    fn check_balanced(table: &SlotTable) {
        let mut counts = vec![0usize; table.replicas()];
        for owner in table.owners() {
            counts[usize::from(*owner)] += 1;
        }
        let (min, max) = (
            counts.iter().min().copied().unwrap_or(0),
            counts.iter().max().copied().unwrap_or(0),
        );
        assert!(max - min <= 1, "unbalanced: {counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), SLOTS);
    }

    #[test]
    fn slots_are_stable_across_builds() {
        // Part of the stored format: if these change, keys lose their state.
        let slots: Vec<u16> = ["", "a", "user-42", "sensor/7"]
            .iter()
            .map(|k| slot_of(k.as_bytes()))
            .collect();
        assert_eq!(slots, GOLDEN_SLOTS);
    }

    /// [`slot_of`] of "", "a", "user-42", "sensor/7".
    const GOLDEN_SLOTS: [u16; 4] = [2250, 2513, 3747, 4076];

    #[test]
    fn rescale_one_two_four_three_one_moves_the_fewest_slots() {
        let mut table = SlotTable::new(1).expect("table");
        for (replicas, expected_moves) in [(2, 2048), (4, 2048), (3, 1024), (1, 2730)] {
            let (next, moves) = table.rescale(replicas).expect("rescale");
            check_balanced(&next);
            assert_eq!(moves.len(), expected_moves, "to {replicas}");
            assert_eq!(moves.len(), fewest_moves(&table, replicas));
            table = next;
        }
        assert!(table.owners().iter().all(|o| *o == 0));
    }

    #[test]
    fn bad_replica_counts_and_corrupt_tables_are_refused() {
        assert_eq!(SlotTable::new(0), Err(SlotTableError::Replicas(0)));
        assert_eq!(
            SlotTable::new(SLOTS + 1),
            Err(SlotTableError::Replicas(SLOTS + 1))
        );
        assert!(matches!(
            SlotTable::from_owners(vec![0; 10], 1),
            Err(SlotTableError::Corrupt(_))
        ));
        let mut owners = vec![0; SLOTS];
        owners[5] = 2;
        assert!(matches!(
            SlotTable::from_owners(owners, 2),
            Err(SlotTableError::Corrupt(m)) if m.contains("slot 5")
        ));
    }

    #[test]
    fn round_robin_visits_every_replica_in_turn() {
        let mut rr = RoundRobin::new(3);
        let order: Vec<usize> = (0..7).map(|_| rr.next_replica()).collect();
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0]);
    }

    proptest! {
        /// Through any sequence of rescales: every slot has exactly one
        /// owner among the replicas, shares differ by one at most, the
        /// moves are the fewest possible, and they are exactly the slots
        /// whose owner changed.
        #[test]
        fn rescales_keep_one_owner_per_slot_and_move_the_fewest(
            steps in proptest::collection::vec(1usize..40, 1..8),
            first in 1usize..40,
        ) {
            let mut table = SlotTable::new(first).expect("table");
            check_balanced(&table);
            for replicas in steps {
                let (next, moves) = table.rescale(replicas).expect("rescale");
                check_balanced(&next);
                prop_assert_eq!(next.replicas(), replicas);
                prop_assert_eq!(moves.len(), fewest_moves(&table, replicas));
                let changed: Vec<u16> = (0..SLOTS as u16)
                    .filter(|s| table.owner(*s) != next.owner(*s))
                    .collect();
                let moved: Vec<u16> = moves.iter().map(|m| m.slot).collect();
                prop_assert_eq!(moved, changed);
                for m in &moves {
                    prop_assert_eq!(usize::from(m.from), table.owner(m.slot));
                    prop_assert_eq!(usize::from(m.to), next.owner(m.slot));
                }
                // What a checkpoint stores reads back as the same table.
                let stored = SlotTable::from_owners(next.owners().to_vec(), replicas);
                prop_assert_eq!(stored.as_ref(), Ok(&next));
                table = next;
            }
        }

        /// A key's slot is within range and the same every time it is asked.
        #[test]
        fn a_key_always_has_the_same_slot(key in proptest::collection::vec(any::<u8>(), 0..64)) {
            let slot = slot_of(&key);
            prop_assert!(usize::from(slot) < SLOTS);
            prop_assert_eq!(slot, slot_of(&key.clone()));
        }
    }
}
