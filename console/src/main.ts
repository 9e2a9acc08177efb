import "./style.css";
import { get, hasSession, logout, whenUnauthorised } from "./api";
import { replaceChildren, toast } from "./dom";
import { setCurrentUser } from "./alerts-ui";
import { adminPage } from "./pages/admin";
import { alertsPage } from "./pages/alerts";
import { ccdmPage } from "./pages/ccdm";
import { conjunctionPage, conjunctionsPage } from "./pages/conjunctions";
import { fleetPage } from "./pages/fleet";
import { groundTrackPage } from "./pages/groundtrack";
import { loginPage } from "./pages/login";
import { spacecraftPage } from "./pages/spacecraft";
import type { Me } from "./types";

/** A page draws itself into `main` and returns what stops its refresh timers. */
export type Stop = () => void;

const main = document.getElementById("main") as HTMLElement;
const top = document.getElementById("top") as HTMLElement;
let stopCurrent: Stop = () => undefined;
let me: Me | null = null;

async function currentUser(): Promise<Me | null> {
  if (!hasSession()) return null;
  try {
    return await get<Me>("/auth/me");
  } catch {
    return null;
  }
}

function showChrome(user: Me | null): void {
  top.hidden = user === null;
  setCurrentUser(user?.id ?? "");
  const who = document.getElementById("who");
  // /auth/me carries the role, not the scopes: the administration link is for admins (the
  // API refuses everyone else anyway).
  const admin = document.querySelector<HTMLAnchorElement>("[data-nav='admin']");
  if (admin) admin.hidden = !isAdmin(user);
  if (who) who.textContent = user ? `${user.name ?? user.email} · ${user.role}` : "";
}

function isAdmin(user: Me | null): boolean {
  return user !== null && (user.role === "admin" || user.is_platform_admin === true);
}

function highlight(section: string): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// Each route() call takes a number; a page that finishes opening after a newer route()
// started is stopped at once, so no page's timers outlive it (a login sets the hash, and
// the hashchange routes while the login's own route() is still opening the fleet).
let routing = 0;

async function route(): Promise<void> {
  const mine = ++routing;
  stopCurrent();
  stopCurrent = () => undefined;
  me ??= await currentUser();
  showChrome(me);
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [section = "", id, view] = hash.split("/");
  if (!me) {
    highlight("");
    document.title = "Log in · AstroShield console";
    loginPage(main, async () => {
      me = await currentUser();
      if (window.location.hash === "#/fleet") await route();
      else window.location.hash = "#/fleet"; // the hashchange routes
    });
    return;
  }
  highlight(section === "spacecraft" ? "fleet" : section);
  try {
    let stop: Stop;
    if (section === "spacecraft" && id && view === "track") stop = await groundTrackPage(main, id);
    else if (section === "spacecraft" && id && view === "ccdm") stop = await ccdmPage(main, id);
    else if (section === "spacecraft" && id) stop = await spacecraftPage(main, id);
    else if (section === "conjunctions" && id) stop = await conjunctionPage(main, id);
    else if (section === "conjunctions") stop = await conjunctionsPage(main);
    else if (section === "alerts") stop = await alertsPage(main);
    else if (section === "admin" && isAdmin(me)) stop = await adminPage(main, me);
    else stop = await fleetPage(main);
    if (mine !== routing) {
      stop(); // a newer route() owns the page now
      return;
    }
    stopCurrent = stop;
  } catch (error) {
    replaceChildren(main);
    toast(error instanceof Error ? error.message : String(error), "error");
  }
  main.focus({ preventScroll: true });
}

// The session ended under a page (expired, revoked elsewhere): back to the login form.
whenUnauthorised(() => {
  if (me === null) return;
  me = null;
  toast("Your session has ended: please log in again", "error");
  void route();
});

document.getElementById("logout")?.addEventListener("click", async () => {
  // Stop the page first: a refresh timer firing while the session is being ended would
  // only meet 401s (and try to refresh a session the operator is closing).
  stopCurrent();
  stopCurrent = () => undefined;
  me = null;
  await logout();
  toast("Logged out");
  if (window.location.hash === "#/login") await route();
  else window.location.hash = "#/login"; // the hashchange routes
});

// The skip link moves focus; it must not change the hash (the hash is the route).
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => void route());
void route();
