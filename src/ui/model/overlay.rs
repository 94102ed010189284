//! The overlay stack: what is open over the screen, bottom first. One ordered stack decides
//! who gets a key, what the body shows and what the footer says, so the three never
//! disagree. Notices sit above everything while there are any: the next key hides them
//! (and does nothing else), then the layer below has the keys and the footer again.

use super::wizard::apply::ApplyWizard;
use super::wizard::emergency::EmergencyWizard;
use super::wizard::fleet::FleetWizard;
use super::Model;

#[derive(Debug, Clone)]
pub enum Overlay {
    /// The guarded apply wizard (a full-screen stepper).
    Apply(Box<ApplyWizard>),
    /// The emergency rollback or the recovery of a failed migration (full screen).
    Emergency(Box<EmergencyWizard>),
    /// A fleet rolled out wave by wave (full screen).
    Fleet(Box<FleetWizard>),
    /// Typing into the list's filter.
    Filter,
    /// The `:` palette and its typed text.
    Palette(String),
    /// The keys, over whatever is below.
    Help,
}

impl Overlay {
    /// Full-screen overlays take the body; the others draw over it.
    pub fn is_screen(&self) -> bool {
        matches!(self, Overlay::Apply(_) | Overlay::Emergency(_) | Overlay::Fleet(_))
    }
}

/// The layer on top of the stack.
#[derive(Debug, Clone, Copy)]
pub enum Top<'a> {
    /// One or more notices: a key hides them.
    Notice,
    Overlay(&'a Overlay),
    /// Nothing is open: the screen's own keys.
    Screen,
}

impl Model {
    /// Who gets the next key and draws the footer.
    pub fn top(&self) -> Top<'_> {
        if !self.notices.is_empty() {
            return Top::Notice;
        }
        match self.overlays.last() {
            Some(o) => Top::Overlay(o),
            None => Top::Screen,
        }
    }

    /// The full-screen overlay that draws the body, if one is open.
    pub fn body_overlay(&self) -> Option<&Overlay> {
        self.overlays.iter().rev().find(|o| o.is_screen())
    }

    pub fn apply_wizard(&self) -> Option<&ApplyWizard> {
        self.overlays.iter().find_map(|o| match o {
            Overlay::Apply(w) => Some(w.as_ref()),
            _ => None,
        })
    }

    pub fn apply_wizard_mut(&mut self) -> Option<&mut ApplyWizard> {
        self.overlays.iter_mut().find_map(|o| match o {
            Overlay::Apply(w) => Some(w.as_mut()),
            _ => None,
        })
    }

    pub fn emergency(&self) -> Option<&EmergencyWizard> {
        self.overlays.iter().find_map(|o| match o {
            Overlay::Emergency(w) => Some(w.as_ref()),
            _ => None,
        })
    }

    pub fn emergency_mut(&mut self) -> Option<&mut EmergencyWizard> {
        self.overlays.iter_mut().find_map(|o| match o {
            Overlay::Emergency(w) => Some(w.as_mut()),
            _ => None,
        })
    }

    pub fn help_open(&self) -> bool {
        self.overlays.iter().any(|o| matches!(o, Overlay::Help))
    }

    pub fn filtering(&self) -> bool {
        matches!(self.overlays.last(), Some(Overlay::Filter))
    }

    /// The palette's typed text while it is open.
    pub fn palette_text(&self) -> Option<&str> {
        self.overlays.iter().rev().find_map(|o| match o {
            Overlay::Palette(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// Closes the overlay on top.
    pub(super) fn pop(&mut self) -> Option<Overlay> {
        self.overlays.pop()
    }

    /// Closes the wizards (a run that ended, or one never started).
    pub(super) fn close_wizards(&mut self) {
        self.overlays.retain(|o| !o.is_screen());
    }
}
