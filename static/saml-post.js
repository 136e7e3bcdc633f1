// The SAML HTTP-POST binding: submit the Response form at once. The page works without this
// script (its Continue button).
var form = document.getElementById("saml-post");
if (form) form.submit();
