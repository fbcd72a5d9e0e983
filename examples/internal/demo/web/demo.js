// The demos' one script. The organization switcher posts to the
// middleware's ExchangeHandler, which answers JSON, and goes where the
// answer says: into the organization, or to the MFA step it requires. The
// sessions list signs another device out through EndSessionHandler (204),
// then shows the list again.
document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!form.matches("form[data-exchange]")) return;
  ev.preventDefault();
  const alert = document.getElementById("switch-alert");
  alert.hidden = true;
  const res = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    alert.textContent = body.error_message || "The switch failed (" + res.status + ").";
    alert.hidden = false;
    return;
  }
  if (body.member_authenticated) {
    location.assign("/orgs/" + encodeURIComponent(body.organization_id) + "/?switched=1");
  } else {
    location.assign("/mfa?organization_id=" + encodeURIComponent(body.organization_id) + "&member_id=" + encodeURIComponent(body.member_id));
  }
});

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!form.matches("form[data-end-session]")) return;
  ev.preventDefault();
  const res = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
  if (res.ok) {
    location.reload();
    return;
  }
  const body = await res.json().catch(() => ({}));
  const alert = document.getElementById("switch-alert") || form;
  alert.textContent = body.error_message || "Signing that device out failed (" + res.status + ").";
  alert.hidden = false;
});
