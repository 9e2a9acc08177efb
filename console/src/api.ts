// Every call goes to the public JSON API with the browser cookie session: the access and
// refresh tokens live in HttpOnly cookies; unsafe methods carry the CSRF token (readable
// cookie, bound to the login) in X-CSRF-Token. An expired access token is refreshed once.
export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The CSRF cookie lives as long as the login (refresh token): no cookie, no session. */
export function hasSession(): boolean {
  return csrfFromCookie() !== "";
}

function csrfFromCookie(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "astroshield-csrf" || name === "__Host-astroshield-csrf") return rest.join("=");
  }
  return "";
}

async function problem(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { title?: string; detail?: string };
    message = body.detail || body.title || message;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, message);
}

let refreshing: Promise<boolean> | null = null;

async function refreshSession(): Promise<boolean> {
  refreshing ??= fetch(`${API}/auth/session/refresh`, {
    method: "POST",
    credentials: "same-origin",
  })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export async function request(
  method: string,
  path: string,
  body?: unknown,
  retry = true,
): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfFromCookie();
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && retry && !path.startsWith("/auth/session")) {
    if (await refreshSession()) return request(method, path, body, false);
    unauthorised();
  }
  if (!response.ok) throw await problem(response);
  return response;
}

export async function get<T>(path: string): Promise<T> {
  return (await (await request("GET", path)).json()) as T;
}

export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  const response = await request("POST", path, body);
  return (response.status === 204 ? null : await response.json()) as T;
}

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Every page of a listing (the API pages at most 500 rows at a time). */
export async function all<T>(path: string, max = 5000): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page: Page<T> = await get<Page<T>>(`${path}${sep}limit=500${suffix}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export async function login(email: string, password: string): Promise<void> {
  const response = await fetch(`${API}/auth/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw await problem(response);
}

export async function logout(): Promise<void> {
  await request("DELETE", "/auth/session", undefined, false).catch(() => undefined);
}

let onUnauthorised: () => void = () => undefined;

export function whenUnauthorised(handler: () => void): void {
  onUnauthorised = handler;
}

function unauthorised(): void {
  onUnauthorised();
}
