// One alert table for every page that lists alerts, with acknowledge and shelve.
import { post } from "./api";
import { h, toast } from "./dom";
import { label, num, pc, severityBadge, timeElement } from "./format";
import type { Alert } from "./types";

let currentUserId = "";

/** Who "you" are, to name your own acknowledgements. */
export function setCurrentUser(id: string): void {
  currentUserId = id;
}

function acknowledger(alert: Alert): HTMLElement {
  if (!alert.acknowledged_by) return h("span", { class: "muted" }, "—");
  const who = alert.acknowledged_by === currentUserId ? "by you" : "by another user";
  return h("span", { title: `user ${alert.acknowledged_by}` }, `${who}, `, timeElement(alert.acknowledged_at));
}

const SHELVE_CHOICES: [number, string][] = [
  [3600, "1 h"],
  [8 * 3600, "8 h"],
  [86400, "24 h"],
];

function about(alert: Alert, names: Map<string, string>): (Node | string)[] {
  const parts: (Node | string)[] = [];
  const rule = alert.labels["rule"] ?? alert.labels["alertname"];
  if (alert.event_id) {
    parts.push(h("a", { href: `#/conjunctions/${alert.event_id}` }, "Conjunction"));
    const secondary = alert.labels["secondary"];
    if (secondary) parts.push(` with ${secondary}`);
  } else if (alert.parameter) {
    parts.push(`Limit alarm: ${alert.parameter}`);
  } else {
    parts.push(rule ? label(rule) : "Alert");
  }
  if (alert.spacecraft_id) {
    const name = names.get(alert.spacecraft_id) ?? "spacecraft";
    parts.push(" · ", h("a", { href: `#/spacecraft/${alert.spacecraft_id}` }, name));
  }
  return parts;
}

function actions(alert: Alert, changed: () => Promise<void>): HTMLElement {
  const cell = h("div", { class: "actions" });
  const act = async (path: string, body: unknown, done: string): Promise<void> => {
    try {
      await post(`/alerts/${alert.id}/${path}`, body);
      toast(done);
      await changed();
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), "error");
    }
  };
  if (alert.status === "firing") {
    const ack = h("button", { type: "button", "data-action": "acknowledge" }, "Acknowledge");
    ack.addEventListener("click", () => void act("acknowledge", { comment: null }, "Alert acknowledged"));
    cell.append(ack);
  }
  if (alert.status === "firing" || alert.status === "acknowledged" || alert.status === "pending") {
    if (alert.shelved_until && new Date(alert.shelved_until).getTime() > Date.now()) {
      const unshelve = h("button", { type: "button", class: "secondary" }, "Unshelve");
      unshelve.addEventListener("click", () => void act("unshelve", {}, "Alert unshelved"));
      cell.append(unshelve);
    } else {
      const id = `shelve-${alert.id}`;
      const choice = h(
        "select",
        { id, "aria-label": "Shelve for" },
        ...SHELVE_CHOICES.map(([seconds, text]) => h("option", { value: seconds }, text)),
      );
      const shelve = h("button", { type: "button", class: "secondary" }, "Shelve");
      shelve.addEventListener(
        "click",
        () => void act("shelve", { duration_s: Number(choice.value) }, "Alert shelved"),
      );
      cell.append(choice, shelve);
    }
  }
  return cell;
}

export function alertTable(
  alerts: Alert[],
  names: Map<string, string>,
  changed: () => Promise<void>,
  caption: string,
): HTMLElement {
  if (alerts.length === 0) return h("p", { class: "muted" }, "No alerts.");
  const rows = alerts.map((alert) =>
    h(
      "tr",
      { "data-alert": alert.id, "data-status": alert.status },
      h("td", {}, severityBadge(alert.severity)),
      h("td", {}, label(alert.status), alert.shelved_until ? h("span", { class: "muted" }, " (shelved)") : null),
      h("td", {}, ...about(alert, names)),
      h("td", { class: "num" }, alert.event_id ? `Pc ${pc(alert.value)}` : num(alert.value)),
      h("td", {}, timeElement(alert.fired_at)),
      h("td", {}, acknowledger(alert)),
      h("td", {}, actions(alert, changed)),
    ),
  );
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "grid" },
      h("caption", { class: "visually-hidden" }, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Severity", "Status", "About", "Value", "Fired", "Acknowledged", "Actions"].map((name) =>
            h("th", { scope: "col" }, name),
          ),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
