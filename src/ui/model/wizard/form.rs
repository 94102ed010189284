//! The confirmation form of a run: the typed name, the second approver, the ticket, and a
//! reason where a choice claims something sluice cannot check.

use crate::core::guard::policy::{Confirmation, Requirements};
use crate::ui::model::Key;

/// A field of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Reason,
    Name,
    Approver,
    Code,
    Ticket,
}

/// What the operator typed; `field` is the index of the one typed into.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub name: String,
    pub approver: String,
    pub code: String,
    pub ticket: String,
    pub reason: String,
    pub field: usize,
}

impl Form {
    /// The fields a policy asks for: the typed name where it is typed, the second approver
    /// where two are required, and always a ticket (required or optional).
    pub fn fields(needs: &Requirements) -> Vec<Field> {
        let mut f = Vec::new();
        if needs.confirmation == Confirmation::TypedName {
            f.push(Field::Name);
        }
        if needs.second_approver {
            f.extend([Field::Approver, Field::Code]);
        }
        f.push(Field::Ticket);
        f
    }

    pub fn active(&self, fields: &[Field], which: Field) -> bool {
        fields.get(self.field) == Some(&which)
    }

    /// Puts the cursor in `which` (the first field when the form has no such field).
    pub fn focus(&mut self, fields: &[Field], which: Field) {
        self.field = fields.iter().position(|f| *f == which).unwrap_or(0);
    }

    fn slot(&mut self, field: Option<Field>) -> &mut String {
        match field {
            Some(Field::Name) => &mut self.name,
            Some(Field::Approver) => &mut self.approver,
            Some(Field::Code) => &mut self.code,
            Some(Field::Reason) => &mut self.reason,
            Some(Field::Ticket) | None => &mut self.ticket,
        }
    }

    /// Typing and moving between fields; false for a key the form does not take.
    pub fn edit(&mut self, k: Key, fields: &[Field]) -> bool {
        let n = fields.len().max(1);
        match k {
            Key::Tab | Key::Down => self.field = (self.field + 1) % n,
            Key::BackTab | Key::Up => self.field = (self.field + n - 1) % n,
            Key::Backspace => {
                self.slot(fields.get(self.field).copied()).pop();
            }
            Key::Char(c) => self.slot(fields.get(self.field).copied()).push(c),
            _ => return false,
        }
        true
    }
}
