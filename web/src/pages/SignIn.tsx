import { useState } from "react";
import type { FormEvent } from "react";
import type { GraphQLErrorEntry } from "../graphql/client";
import { navigate } from "../navigation";
import { useSession } from "../session";
import { ErrorMessage } from "../components/states";

export function SignInPage() {
  const { signIn } = useSession();
  const [error, setError] = useState<GraphQLErrorEntry | null>(null);
  const [sending, setSending] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSending(true);
    const failure = await signIn(String(form.get("email")), String(form.get("password")), form.get("keep") === "on");
    setSending(false);
    setError(failure);
    if (!failure) navigate("/");
  };

  return (
    <section>
      <h1>Sign in</h1>
      <form className="stacked" onSubmit={submit} aria-label="Sign in">
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <label className="checkbox">
          <input name="keep" type="checkbox" />
          Keep me signed in
        </label>
        <button type="submit" disabled={sending}>
          {sending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {error && <ErrorMessage errors={[error]} />}
    </section>
  );
}
