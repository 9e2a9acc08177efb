import type { Stop } from "../main";
import { all } from "../api";
import { alertTable } from "../alerts-ui";
import { spacecraftNames } from "../data";
import { h, replaceChildren, toast } from "../dom";
import type { Alert } from "../types";

const STATUSES: [string, string][] = [
  ["open", "Open (firing or acknowledged)"],
  ["firing", "Firing"],
  ["acknowledged", "Acknowledged"],
  ["pending", "Pending"],
  ["resolved", "Resolved (history)"],
  ["", "All (history)"],
];

export async function alertsPage(main: HTMLElement): Promise<Stop> {
  const names = await spacecraftNames();
  const status = h(
    "select",
    { id: "alert-status" },
    ...STATUSES.map(([value, text]) => h("option", { value }, text)),
  );
  const severity = h(
    "select",
    { id: "alert-severity" },
    h("option", { value: "" }, "Any"),
    h("option", { value: "critical" }, "Critical"),
    h("option", { value: "warning" }, "Warning"),
    h("option", { value: "info" }, "Info"),
  );
  const list = h("div", { id: "alert-list" });
  replaceChildren(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Alerts")),
    h(
      "form",
      { class: "filters", "aria-label": "Filter alerts" },
      h("label", { for: "alert-status" }, "Status"),
      status,
      h("label", { for: "alert-severity" }, "Severity"),
      severity,
    ),
    list,
  );
  document.title = "Alerts · AstroShield console";

  async function refresh(): Promise<void> {
    const sev = severity.value ? `&severity=${severity.value}` : "";
    const wanted = status.value === "open" ? ["firing", "acknowledged"] : [status.value];
    const pages = await Promise.all(
      wanted.map((s) => all<Alert>(`/alerts?${s ? `status=${s}` : ""}${sev}`, 1000)),
    );
    const alerts = pages.flat().sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    replaceChildren(list, alertTable(alerts, names, refresh, "Alerts"));
  }
  status.addEventListener("change", () => void refresh().catch((e: unknown) => toast(String(e), "error")));
  severity.addEventListener("change", () => void refresh().catch((e: unknown) => toast(String(e), "error")));
  await refresh();
  // A periodic redraw would take the keyboard focus away from a control in the list.
  const timer = window.setInterval(() => {
    if (!list.contains(document.activeElement)) refresh().catch(() => undefined);
  }, 10000);
  return () => window.clearInterval(timer);
}
