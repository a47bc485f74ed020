// Checkout: buying job credits. The page's one request is its mutation
// (pages/CheckoutPage.graphql); the charge then runs in the background, so
// the page polls operations/InvoiceStatus.graphql until the invoice is
// settled. A retried submission reuses its idempotency key, so a double
// click or a lost answer never charges twice.
import { useEffect, useRef, useState } from "react";
import type { FormEvent } from "react";
import { execute, type GraphQLErrorEntry } from "../graphql/client";
import { CheckoutPage, InvoiceStatus } from "../graphql/operations";
import type { CheckoutPageMutation, InvoiceStatusQuery } from "../generated/graphql";
import { accessTokenOf, useSession } from "../session";
import { Empty, ErrorMessage, money } from "../components/states";

const testCards = [
  { id: "pm_card_visa", label: "Visa ending 4242 (pays)" },
  { id: "pm_card_chargeCustomerFail", label: "Card that is declined" },
];
const pollIntervalMilliseconds = 1_000;

function newIdempotencyKey(): string {
  return `web-${crypto.randomUUID()}`;
}

type Invoice = NonNullable<CheckoutPageMutation["purchaseJobCredits"]>["invoice"];
type Settlement = NonNullable<InvoiceStatusQuery["invoice"]>;

export function Checkout({ location }: { location: URL }) {
  const { session } = useSession();
  const organizationIds = session.status === "signed-in" ? session.organizationIds : [];
  const requested = location.searchParams.get("organization");
  const organizationId = requested && organizationIds.includes(requested) ? requested : organizationIds[0];
  const idempotencyKey = useRef(newIdempotencyKey());
  const [sending, setSending] = useState(false);
  const [errors, setErrors] = useState<GraphQLErrorEntry[]>([]);
  const [invoice, setInvoice] = useState<Invoice | null>(null);
  const [settlement, setSettlement] = useState<Settlement | null>(null);
  const token = accessTokenOf(session);

  useEffect(() => {
    if (!invoice || (settlement && settlement.status !== "PENDING")) return;
    const timer = window.setTimeout(async () => {
      const result = await execute(InvoiceStatus, { id: invoice.id }, { accessToken: token });
      if (result.data?.invoice) setSettlement(result.data.invoice);
      else setErrors(result.errors);
    }, pollIntervalMilliseconds);
    return () => window.clearTimeout(timer);
  }, [invoice, settlement, token]);

  if (session.status !== "signed-in" || !organizationId) {
    return <Empty>Sign in as a recruiter to buy job credits.</Empty>;
  }

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSending(true);
    setErrors([]);
    const result = await execute(
      CheckoutPage,
      {
        input: {
          organizationId,
          credits: Number(form.get("credits")),
          paymentMethod: String(form.get("paymentMethod")),
        },
        idempotencyKey: idempotencyKey.current,
      },
      { accessToken: token },
    );
    setSending(false);
    const purchase = result.data?.purchaseJobCredits;
    if (purchase) {
      setInvoice(purchase.invoice);
      setSettlement(null);
    } else {
      setErrors(result.errors);
    }
  };

  const status = settlement?.status ?? invoice?.status;
  return (
    <section>
      <h1>Buy job credits</h1>
      {invoice && (
        <div className="panel" data-testid="invoice" aria-live="polite">
          <p>
            Invoice {invoice.number} for {invoice.organization.name}: {money(invoice.totalCents, invoice.currency)}
          </p>
          <p data-testid="invoice-status" data-status={status}>
            {status === "PAID" && `Paid. ${invoice.organization.name} now has ${settlement?.organization.billing?.jobCredits ?? "more"} job credits.`}
            {status === "PENDING" && "Charging your card…"}
            {status === "FAILED" && `Payment failed: ${settlement?.failureReason ?? invoice.failureReason ?? "declined"}`}
            {status === "PAYMENT_ERROR" && "We could not reach the payment provider. You have not been charged twice; we will retry."}
          </p>
          {status !== "PENDING" && (
            <button
              type="button"
              onClick={() => {
                idempotencyKey.current = newIdempotencyKey();
                setInvoice(null);
                setSettlement(null);
              }}
            >
              Start a new purchase
            </button>
          )}
        </div>
      )}
      {!invoice && (
        <form className="stacked" onSubmit={submit} aria-label="Buy job credits">
          <label>
            Credits (1 to 500)
            <input name="credits" type="number" min={1} max={500} defaultValue={10} required />
          </label>
          <fieldset>
            <legend>Card</legend>
            {testCards.map((card, index) => (
              <label key={card.id} className="checkbox">
                <input type="radio" name="paymentMethod" value={card.id} defaultChecked={index === 0} />
                {card.label}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={sending} data-testid="pay">
            {sending ? "Sending…" : "Pay"}
          </button>
        </form>
      )}
      {errors.length > 0 && <ErrorMessage errors={errors} />}
    </section>
  );
}
