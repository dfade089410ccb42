//! Who is calling: the app user, the id of the person logged into the app that uses this
//! service. The HTTP layer proves it from the app's JWT (`connect_http::jwt`).

const MAX_SUBJECT_CHARS: usize = 256;

/// The verified id of the person logged into the app that uses this service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppUser(String);

impl AppUser {
    /// Accepts 1–256 printable characters.
    pub fn parse(id: &str) -> Option<Self> {
        let count = id.chars().count();
        let printable = id.chars().all(|c| !c.is_control());
        ((1..=MAX_SUBJECT_CHARS).contains(&count) && printable).then(|| Self(id.to_owned()))
    }

    /// The id as the JWT's `sub` carried it; it keys the app user's items and encryption contexts.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
