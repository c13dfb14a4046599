// Talking to this server's JSON API. Every POST says it is JSON (the server refuses others).

/** An Error whose message is the server's one-line "detail". */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function tidy(message) {
  // pydantic's prefix is noise to a reader of the page
  return String(message).replace(/\bValue error, /g, "");
}

/** GET `path`, or POST `body` as JSON when a body is given; the parsed JSON answer. */
export async function api(path, body) {
  const options = body === undefined ? { method: "GET" } : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError("cannot reach the server (is `digitnet serve` still running?)", 0);
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = { detail: response.statusText }; }
  if (!response.ok) {
    throw new ApiError(tidy((data && data.detail) || `HTTP ${response.status}`), response.status);
  }
  return data;
}
