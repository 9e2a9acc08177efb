import { h } from "../dom";

export type SpacecraftView = "telemetry" | "track" | "ccdm";

const VIEWS: [SpacecraftView, string, string][] = [
  ["telemetry", "Telemetry", ""],
  ["track", "Ground track and passes", "/track"],
  ["ccdm", "CCDM", "/ccdm"],
];

/** The views of one spacecraft: links (each view has its own address), the current one marked. */
export function spacecraftTabs(id: string, current: SpacecraftView): HTMLElement {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Spacecraft views" },
    ...VIEWS.map(([view, text, suffix]) =>
      h("a", { href: `#/spacecraft/${id}${suffix}`, "aria-current": view === current ? "page" : null }, text),
    ),
  );
}

/** Breadcrumbs and title of a spacecraft view. */
export function spacecraftHead(id: string, name: string, current: SpacecraftView, ...extra: Node[]): HTMLElement[] {
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/fleet" }, "Fleet"), " / ", name),
    h("div", { class: "page-head" }, h("h1", {}, name), ...extra),
    spacecraftTabs(id, current),
  ];
}
