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

async function route(): Promise<void> {
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
      window.location.hash = "#/fleet";
      await route();
    });
    return;
  }
  highlight(section === "spacecraft" ? "fleet" : section);
  try {
    if (section === "spacecraft" && id && view === "track") stopCurrent = await groundTrackPage(main, id);
    else if (section === "spacecraft" && id && view === "ccdm") stopCurrent = await ccdmPage(main, id);
    else if (section === "spacecraft" && id) stopCurrent = await spacecraftPage(main, id);
    else if (section === "conjunctions" && id) stopCurrent = await conjunctionPage(main, id);
    else if (section === "conjunctions") stopCurrent = await conjunctionsPage(main);
    else if (section === "alerts") stopCurrent = await alertsPage(main);
    else if (section === "admin" && isAdmin(me)) stopCurrent = await adminPage(main, me);
    else stopCurrent = await fleetPage(main);
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
  await logout();
  me = null;
  window.location.hash = "#/login";
  toast("Logged out");
  await route();
});

// The skip link moves focus; it must not change the hash (the hash is the route).
document.querySelector(".skip")?.addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => void route());
void route();
