//! Invitations in headless Chromium (issue #14): an owner invites on the page, the message
//! arrives at a real SMTP server (aiosmtpd), and a fresh browser follows its link, creates the
//! account and signs in; every page visited passes axe-core.

use crate::browser::*;
use crate::helpers::*;
use crate::mail_support::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_joins_through_the_link_in_a_real_browser() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let Some(db) = TestDb::new(Backend::Sqlite) else {
        return;
    };
    let smtp = sink.url();
    let app = spawn_on(&db, mintgate::clock::ManualClock::starting_now(), |s| {
        s.mail.smtp_url = Some(smtp.into())
    })
    .await;
    let Some((mut browser, _profile, pump)) = launch().await else {
        return;
    };
    let page = browser.new_page(app.url("/login")).await.unwrap();
    type_into(&page, "#login", ADMIN_USERNAME).await;
    type_into(&page, "#password", ADMIN_PASSWORD).await;
    click(&page, "button[type=submit]").await;
    wait_for_url(&page, |u| u.ends_with("/account")).await;

    click(&page, "nav.site a[href=\"/settings/organisation/members\"]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/organisation/members")).await;
    assert!(text_of(&page, "#members").await.is_some());
    assert_accessible(&page).await;
    click(&page, "a[href=\"/settings/organisation/invitations\"]").await;
    wait_for_url(&page, |u| u.ends_with("/settings/organisation/invitations")).await;
    assert_accessible(&page).await;
    type_into(&page, "#email", "invitee@example.com").await;
    click(&page, "#invite-form button[type=submit]").await;
    let notice = text_of(&page, "#invite-notice").await.unwrap();
    assert!(notice.contains("invitee@example.com"), "{notice}");
    assert_accessible(&page).await;

    let mail = sink.wait_for("invitee@example.com", 1).await;
    assert!(mail.subject.contains("default"), "{}", mail.subject);
    let link = mail.link("/invitation");

    // The invitee, in a browser of their own.
    let Some((mut other, _other_profile, other_pump)) = launch().await else {
        return;
    };
    let invitee = other.new_page(link.as_str()).await.unwrap();
    assert!(text_of(&invitee, "#account-form").await.is_some());
    assert_accessible(&invitee).await;
    type_into(&invitee, "#username", "invitee").await;
    type_into(&invitee, "#display_name", "In Vitee").await;
    let password = "purple elephants juggle 7 teacups";
    type_into(&invitee, "#password", password).await;
    type_into(&invitee, "#password_again", password).await;
    click(&invitee, "#account-form button[type=submit]").await;
    wait_for_url(&invitee, |u| u.contains("/login")).await;
    assert_accessible(&invitee).await;
    type_into(&invitee, "#password", password).await;
    click(&invitee, "button[type=submit]").await;
    let url = wait_for_url(&invitee, |u| u.ends_with("/account")).await;
    assert!(url.ends_with("/account"), "{url}");
    assert_accessible(&invitee).await;

    other.close().await.unwrap();
    let _ = other.wait().await;
    other_pump.abort();
    browser.close().await.unwrap();
    let _ = browser.wait().await;
    pump.abort();
}
