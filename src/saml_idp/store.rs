//! What the SAML IdP needs from storage.

use super::types::SamlApp;
use crate::ids::{OrgId, SamlAppId};
use crate::store::StoreResult;

pub trait SamlAppStore {
    /// Adds an app; `StoreError::Conflict` when its entity id is taken (server-wide).
    fn insert_saml_app(&self, app: &SamlApp) -> StoreResult<()>;
    /// The app an AuthnRequest's Issuer names.
    fn find_saml_app_by_entity_id(&self, entity_id: &str) -> StoreResult<Option<SamlApp>>;
    /// `org`: `Some` lists that organisation's apps, `None` the operator apps.
    fn list_saml_apps(&self, org: Option<&OrgId>) -> StoreResult<Vec<SamlApp>>;
    /// Every app (the operator's CLI listing).
    fn list_all_saml_apps(&self) -> StoreResult<Vec<SamlApp>>;
    /// Deletes the app `id` if it belongs to `org` (`None`: an operator app); whether it did.
    fn delete_saml_app(&self, org: Option<&OrgId>, id: &SamlAppId) -> StoreResult<bool>;
    /// Deletes the app `id` whatever its organisation (the operator's CLI); whether it did.
    fn delete_any_saml_app(&self, id: &SamlAppId) -> StoreResult<bool>;
}
