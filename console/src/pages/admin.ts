import type { Stop } from "../main";
import { ApiError, all, get, request } from "../api";
import { h, replaceChildren, toast } from "../dom";
import { label, timeElement, utc } from "../format";
import type { AuditEntry, ChainVerification, Feature, Me, User } from "../types";

const AUDIT_ROWS = 50;

function table(id: string, caption: string, head: string[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid compact", id },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...head.map((n) => h("th", { scope: "col" }, n)))),
      h("tbody", {}, ...rows),
    ),
  );
}

const ROLES = ["viewer", "operator", "analyst", "admin"];

function usersTable(users: User[], me: Me): HTMLElement {
  return table(
    "user-table",
    "Users of the organisation and their roles",
    ["Name", "E-mail", "Role", "Active", "Last login"],
    users.map((u) => {
      const who = u.name ?? u.email ?? u.id;
      const role = h(
        "select",
        { "aria-label": `Role of ${who}`, "data-user-role": u.id },
        ...ROLES.map((r) => h("option", { value: r }, label(r))),
      ) as HTMLSelectElement;
      role.value = u.role;
      // Only platform administrators change a platform administrator's account (the API
      // refuses anyone else); nobody demotes themselves from here.
      role.disabled = u.id === me.id || (u.is_platform_admin && !me.is_platform_admin);
      const cell = h("td", { "data-role": u.role }, role, u.is_platform_admin ? " · platform administrator" : "");
      role.addEventListener("change", () => {
        const wanted = role.value;
        request("PATCH", `/users/${u.id}`, { role: wanted })
          .then(() => {
            cell.dataset.role = wanted;
            toast(`${who} is now ${label(wanted)}`);
          })
          .catch((error: unknown) => {
            role.value = cell.dataset.role ?? u.role;
            toast(error instanceof Error ? error.message : String(error), "error");
          });
      });
      return h(
        "tr",
        { "data-user": u.id },
        h("th", { scope: "row" }, u.name ?? "—"),
        h("td", {}, u.email ?? "—"),
        cell,
        h("td", {}, u.is_active ? "Yes" : "No"),
        h("td", {}, timeElement(u.last_login_at)),
      );
    }),
  );
}

/** What the operator typed, as the setting's own type (the value in force says which). */
function parsed(text: string, current: unknown): unknown {
  if (typeof current === "number") return Number(text);
  if (typeof current === "boolean") return text.trim().toLowerCase() === "true";
  if (typeof current === "string") return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function configTable(config: Record<string, unknown>): HTMLElement {
  const entries = Object.entries(config);
  if (entries.length === 0) return h("p", { class: "muted" }, "No runtime setting overrides the environment.");
  return table(
    "config-table",
    "Runtime configuration in force",
    ["Setting", "Value", "Change"],
    entries.map(([key, value]) => {
      let current = value;
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      const input = h("input", { type: "text", value: shown, "aria-label": `Value of ${key}`, "data-config": key }) as HTMLInputElement;
      const save = h("button", { type: "button", class: "small", "aria-label": `Save ${key}` }, "Save");
      const row = h("tr", { "data-key": key }, h("th", { scope: "row" }, key), h("td", {}, input), h("td", {}, save));
      save.addEventListener("click", () => {
        request("PATCH", "/config", { [key]: parsed(input.value, current) })
          .then(async (response) => {
            const now = ((await response.json()) as Record<string, unknown>)[key];
            current = now;
            input.value = typeof now === "string" ? now : JSON.stringify(now);
            toast(`${key} saved`);
          })
          .catch((error: unknown) => toast(error instanceof Error ? error.message : String(error), "error"));
      });
      return row;
    }),
  );
}

function verifyLine(result: ChainVerification | string): HTMLElement {
  if (typeof result === "string") return h("p", { id: "audit-verify" }, h("span", { class: "badge health-none" }, "Not checked"), ` ${result}`);
  const badge = result.ok
    ? h("span", { class: "badge health-ok" }, "Chain verified")
    : h("span", { class: "badge health-bad" }, "Chain broken");
  return h(
    "div",
    { id: "audit-verify" },
    h("p", {}, badge, ` ${result.entries_checked} entries and ${result.checkpoints_checked} checkpoints checked.`),
    result.findings.map((f) => h("p", { class: "form-error" }, f.description)),
    result.notes.map((n) => h("p", { class: "muted" }, n)),
  );
}

const VERIFY_NEEDS = "Verifying the whole chain needs a platform administrator.";

async function verification(me: Me): Promise<ChainVerification | string> {
  // The chain spans every organisation: only platform administrators may check it.
  if (!me.is_platform_admin) return VERIFY_NEEDS;
  try {
    return await get<ChainVerification>("/audit/verify");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return VERIFY_NEEDS;
    throw error;
  }
}

export async function adminPage(main: HTMLElement, me: Me): Promise<Stop> {
  const [users, config, audit, verify] = await Promise.all([
    all<User>("/users"),
    get<Record<string, unknown>>("/config"),
    get<{ items: AuditEntry[] }>(`/audit?limit=${AUDIT_ROWS}`),
    verification(me),
  ]);
  const names = new Map(users.map((u) => [u.id, u.name ?? u.email ?? u.id]));
  const flagsBox = h("div", { id: "flags" });

  async function drawFlags(): Promise<void> {
    const { items } = await get<{ items: Feature[] }>("/features");
    const rows = items.map((flag) => {
      const actions: HTMLElement[] = [];
      if (flag.organisational) {
        const toggle = h(
          "button",
          { type: "button", class: "small", "aria-label": `Turn ${flag.enabled ? "off" : "on"} ${flag.key} for the organisation` },
          `Turn ${flag.enabled ? "off" : "on"} for the organisation`,
        );
        toggle.addEventListener("click", () => void change(flag.key, "PUT", { enabled: !flag.enabled }));
        actions.push(toggle);
        if (flag.source === "organisation") {
          const reset = h("button", { type: "button", class: "secondary small", "aria-label": `Reset ${flag.key} to default` }, "Reset to default");
          reset.addEventListener("click", () => void change(flag.key, "DELETE"));
          actions.push(reset);
        }
      }
      return h(
        "tr",
        { "data-flag": flag.key, "data-enabled": String(flag.enabled), "data-source": flag.source },
        h("th", { scope: "row" }, flag.key),
        h("td", {}, flag.description),
        h("td", {}, h("span", { class: `badge ${flag.enabled ? "health-ok" : "health-none"}` }, flag.enabled ? "On" : "Off")),
        h("td", {}, label(flag.source)),
        h("td", {}, actions.length ? h("div", { class: "actions" }, actions) : h("span", { class: "muted" }, "Platform-wide only")),
      );
    });
    replaceChildren(flagsBox, table("flag-table", "Feature flags as they apply to the organisation", ["Flag", "What", "State", "Set by", "Change"], rows));
  }

  async function change(key: string, method: "PUT" | "DELETE", body?: unknown): Promise<void> {
    try {
      await request(method, `/features/${encodeURIComponent(key)}/organisation`, body);
      toast(`Feature flag ${key} changed`);
      await drawFlags();
      flagsBox.querySelector<HTMLButtonElement>(`tr[data-flag="${key}"] button`)?.focus();
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), "error");
    }
  }

  const auditRows = audit.items.map((entry) =>
    h(
      "tr",
      { "data-audit": entry.id },
      h("th", { scope: "row" }, utc(entry.occurred_at)),
      h("td", {}, entry.action),
      h("td", {}, entry.actor ? (names.get(entry.actor) ?? entry.actor) : "system"),
      h("td", {}, entry.object_type ? `${entry.object_type}${entry.object_id ? ` ${entry.object_id}` : ""}` : "—"),
    ),
  );
  replaceChildren(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Administration")),
    h("section", { class: "panel", "aria-labelledby": "users-title" }, h("h2", { id: "users-title" }, "Users and roles"), usersTable(users, me)),
    h("section", { class: "panel", "aria-labelledby": "flags-title" }, h("h2", { id: "flags-title" }, "Feature flags"), flagsBox),
    h("section", { class: "panel", "aria-labelledby": "config-title" }, h("h2", { id: "config-title" }, "Runtime configuration"), configTable(config)),
    h(
      "section",
      { class: "panel", "aria-labelledby": "audit-title" },
      h("h2", { id: "audit-title" }, "Audit trail"),
      verifyLine(verify),
      h("p", { class: "muted" }, `The latest ${auditRows.length} entries.`),
      table("audit-table", "Latest audit entries, newest first", ["Time", "Action", "Actor", "Object"], auditRows),
    ),
  );
  document.title = "Administration · AstroShield console";
  await drawFlags();
  return () => undefined;
}
