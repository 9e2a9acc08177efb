import type { Stop } from "../main";
import { fleet, type FleetRow } from "../data";
import { h, replaceChildren, toast } from "../dom";
import { healthBadge, label, tierBadge, tierRank, timeElement } from "../format";

const REFRESH_MS = 5000;
const HEALTH_RANK: Record<string, number> = { critical: 0, degraded: 1, unknown: 2, nominal: 3 };

function order(a: FleetRow, b: FleetRow): number {
  return (
    tierRank(a.worstTier) - tierRank(b.worstTier) ||
    b.unacknowledged - a.unacknowledged ||
    (HEALTH_RANK[a.spacecraft.health] ?? 2) - (HEALTH_RANK[b.spacecraft.health] ?? 2) ||
    a.spacecraft.name.localeCompare(b.spacecraft.name)
  );
}

function row(item: FleetRow): HTMLTableRowElement {
  const s = item.spacecraft;
  const alarms =
    item.openAlarms === 0
      ? h("span", { class: "muted" }, "0")
      : h(
          "span",
          { class: item.unacknowledged ? "badge health-bad" : "badge health-warn" },
          `${item.openAlarms}${item.unacknowledged ? ` (${item.unacknowledged} unacked)` : " acked"}`,
        );
  return h(
    "tr",
    { "data-spacecraft": s.id },
    h("th", { scope: "row" }, h("a", { href: `#/spacecraft/${s.id}` }, s.name)),
    h("td", {}, s.catalog_number ?? "—"),
    h("td", {}, label(s.mode)),
    h("td", {}, healthBadge(s.health)),
    h(
      "td",
      {},
      timeElement(s.last_contact_at),
      s.contact === "stale" ? h("span", { class: "badge health-warn stale" }, "stale") : null,
    ),
    h("td", {}, alarms),
    h("td", {}, tierBadge(item.worstTier)),
  );
}

export async function fleetPage(main: HTMLElement): Promise<Stop> {
  const body = h("tbody", {});
  const updated = h("span", { class: "muted live", "aria-live": "off" });
  const counts = h("p", { class: "summary" });
  const table = h(
    "table",
    { class: "grid", id: "fleet-table" },
    h("caption", { class: "visually-hidden" }, "Spacecraft of your organisation"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Spacecraft", "Catalog no.", "Mode", "Health", "Last contact", "Open alarms", "Conjunction tier"].map(
          (name) => h("th", { scope: "col" }, name),
        ),
      ),
    ),
    body,
  );
  replaceChildren(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Fleet"), updated),
    counts,
    h("div", { class: "table-wrap" }, table),
  );
  document.title = "Fleet · AstroShield console";

  async function refresh(): Promise<void> {
    const rows = (await fleet()).sort(order);
    const red = rows.filter((r) => r.worstTier === "red").length;
    const alarms = rows.reduce((n, r) => n + r.unacknowledged, 0);
    replaceChildren(
      counts,
      `${rows.length} spacecraft · `,
      h("strong", {}, `${red} with a red conjunction`),
      ` · ${alarms} unacknowledged alarms`,
    );
    if (rows.length === 0) {
      replaceChildren(body, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No spacecraft registered yet.")));
    } else {
      replaceChildren(body, rows.map(row));
    }
    updated.textContent = `Live · updated ${new Date().toISOString().slice(11, 19)} UTC`;
  }

  await refresh();
  // User Timing mark: benchmarks/console_first_render.py reads it (navigation start to rows).
  if (performance.getEntriesByName("fleet-rendered").length === 0) performance.mark("fleet-rendered");
  // Not while the keyboard focus is in the table: a redraw would drop it.
  const timer = window.setInterval(() => {
    if (table.contains(document.activeElement)) return;
    refresh().catch((error: unknown) => toast(String(error), "error"));
  }, REFRESH_MS);
  return () => window.clearInterval(timer);
}
