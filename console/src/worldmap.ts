// A world map in the equirectangular projection, as SVG: Natural Earth 110m land from the
// pinned `world-atlas` package (TopoJSON, bundled by Vite: nothing is fetched at run time).
import { feature } from "topojson-client";
import type { Topology } from "topojson-specification";
import type { Feature, FeatureCollection, MultiPolygon, Polygon, Position } from "geojson";
import land110m from "world-atlas/land-110m.json";

const SVG = "http://www.w3.org/2000/svg";
export const MAP_WIDTH = 1080;
export const MAP_HEIGHT = 540;

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** Map coordinates of a longitude (any turn, wrapped to -180..180) and latitude. */
export function project(lon: number, lat: number): [number, number] {
  const wrapped = ((((lon + 180) % 360) + 360) % 360) - 180;
  return [((wrapped + 180) / 360) * MAP_WIDTH, ((90 - lat) / 180) * MAP_HEIGHT];
}

function pathOf(points: [number, number][], shift: number): string {
  return (
    points
      .map(([lon, lat], i) => {
        const x = ((lon + shift + 180) / 360) * MAP_WIDTH;
        const y = ((90 - lat) / 180) * MAP_HEIGHT;
        return `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join("") + "Z"
  );
}

/**
 * A ring as SVG path data. Rings cut by the antimeridian (Russia, Fiji) are unwrapped to
 * continuous longitudes and drawn again one turn over, so the map's edge clips each half; a
 * ring that goes once round the globe (Antarctica) is closed along its pole.
 */
function ringPath(ring: Position[]): string {
  const points: [number, number][] = [];
  let offset = 0;
  let previous: number | null = null;
  for (const [lon = 0, lat = 0] of ring) {
    if (previous !== null && Math.abs(lon - previous) > 180) offset += lon < previous ? 360 : -360;
    points.push([lon + offset, lat]);
    previous = lon;
  }
  const first = points[0];
  const last = points[points.length - 1];
  if (first && last && Math.abs(last[0] - first[0]) > 180) {
    const pole = points.reduce((sum, [, lat]) => sum + lat, 0) < 0 ? -90 : 90;
    points.push([last[0], pole], [first[0], pole]);
  }
  const lons = points.map(([lon]) => lon);
  let d = pathOf(points, 0);
  if (Math.min(...lons) < -180.001) d += pathOf(points, 360);
  if (Math.max(...lons) > 180.001) d += pathOf(points, -360);
  return d;
}

let landPath: string | null = null;

/** The land outline as one SVG path (computed once). */
function land(): string {
  if (landPath !== null) return landPath;
  const topology = land110m as unknown as Topology;
  const geo = feature(topology, topology.objects["land"]!) as unknown as
    | FeatureCollection<Polygon | MultiPolygon>
    | Feature<Polygon | MultiPolygon>;
  const features = "features" in geo ? geo.features : [geo];
  const parts: string[] = [];
  for (const item of features) {
    const polygons = item.geometry.type === "Polygon" ? [item.geometry.coordinates] : item.geometry.coordinates;
    for (const polygon of polygons) for (const ring of polygon) parts.push(ringPath(ring));
  }
  landPath = parts.join("");
  return landPath;
}

/**
 * Polylines of a track, split where it crosses the antimeridian (a longitude jump of more
 * than 180°): each crossing ends one piece at the map's edge and starts the next on the
 * other edge, at the latitude interpolated on the shorter way round. A null point (SGP4
 * failed there) also ends a piece.
 */
export function trackPieces(lons: (number | null)[], lats: (number | null)[]): [number, number][][] {
  const pieces: [number, number][][] = [];
  let current: [number, number][] = [];
  let previous: [number, number] | null = null;
  for (let i = 0; i < lons.length; i++) {
    const lon = lons[i];
    const lat = lats[i];
    if (lon === null || lon === undefined || lat === null || lat === undefined) {
      if (current.length) pieces.push(current);
      current = [];
      previous = null;
      continue;
    }
    const here = ((((lon + 180) % 360) + 360) % 360) - 180;
    if (previous) {
      const [lon0, lat0] = previous;
      const jump = here - lon0;
      if (Math.abs(jump) > 180) {
        // East-bound crossing when the jump is negative (179 -> -179).
        const edge = jump < 0 ? 180 : -180;
        const unwrapped = jump < 0 ? here + 360 : here - 360;
        const fraction = (edge - lon0) / (unwrapped - lon0);
        const latEdge = lat0 + fraction * (lat - lat0);
        current.push(project(edge === 180 ? 179.9999 : edge, latEdge));
        pieces.push(current);
        current = [project(edge === 180 ? -180 : 179.9999, latEdge)];
      }
    }
    current.push(project(here, lat));
    previous = [here, lat];
  }
  if (current.length) pieces.push(current);
  return pieces;
}

export interface MapStation {
  name: string;
  lat: number;
  lon: number;
}

/** The map: graticule every 30°, land, the track pieces, stations and the first point. */
export function worldMap(
  title: string,
  lons: (number | null)[],
  lats: (number | null)[],
  stations: MapStation[],
): SVGSVGElement {
  const graticule: string[] = [];
  for (let lon = -150; lon <= 150; lon += 30) {
    const [x] = project(lon, 0);
    graticule.push(`M${x},0V${MAP_HEIGHT}`);
  }
  for (let lat = -60; lat <= 60; lat += 30) {
    const [, y] = project(0, lat);
    graticule.push(`M0,${y}H${MAP_WIDTH}`);
  }
  const map = svg(
    "svg",
    { viewBox: `0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`, role: "img", "aria-labelledby": "map-title", class: "world-map" },
    svg("title", { id: "map-title" }, title),
    svg("rect", { x: 0, y: 0, width: MAP_WIDTH, height: MAP_HEIGHT, fill: "#0e2a47" }),
    svg("path", { d: graticule.join(""), stroke: "#2c4a6e", "stroke-width": 1, fill: "none" }),
    svg("path", { d: land(), fill: "#3b4f66", stroke: "#7d93ad", "stroke-width": 0.6, "fill-rule": "evenodd", class: "land" }),
  );
  for (const piece of trackPieces(lons, lats)) {
    const points = piece.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    map.append(svg("polyline", { points, fill: "none", stroke: "#ffd166", "stroke-width": 2, class: "track" }));
  }
  const first = lons.findIndex((lon, i) => lon !== null && lats[i] !== null);
  if (first >= 0) {
    const [x, y] = project(lons[first]!, lats[first]!);
    map.append(svg("circle", { cx: x, cy: y, r: 7, fill: "#ffd166", stroke: "#0b1220", "stroke-width": 2, class: "track-start" }));
  }
  for (const station of stations) {
    const [x, y] = project(station.lon, station.lat);
    const right = x < MAP_WIDTH - 120;
    map.append(
      svg("rect", { x: x - 7, y: y - 7, width: 14, height: 14, fill: "#6ee7a8", stroke: "#0b1220", "stroke-width": 2, class: "station" }),
      svg(
        "text",
        { x: right ? x + 11 : x - 11, y: y + 6, fill: "#e5e9f0", "font-size": 18, "text-anchor": right ? "start" : "end", "paint-order": "stroke", stroke: "#0b1220", "stroke-width": 3 },
        station.name,
      ),
    );
  }
  return map;
}
