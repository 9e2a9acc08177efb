import { login } from "../api";
import { h, replaceChildren } from "../dom";

export function loginPage(main: HTMLElement, done: () => Promise<void>): void {
  const email = h("input", {
    id: "email",
    name: "email",
    type: "email",
    autocomplete: "username",
    required: true,
  });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "AstroShield operations console"),
    h("p", { class: "muted" }, "Sign in with your AstroShield account."),
    h("label", { for: "email" }, "E-mail"),
    email,
    h("label", { for: "password" }, "Password"),
    password,
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      await login(email.value, password.value);
      await done();
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      submit.disabled = false;
      password.focus();
    }
  });
  replaceChildren(main, h("section", { class: "login" }, form));
  email.focus();
}
