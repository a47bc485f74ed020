import { EmployerDashboardPage } from "../graphql/operations";
import { Link } from "../navigation";
import { usePageQuery } from "../usePageQuery";
import { Empty, Logo, PageBody, PartialDataNotice, date, money, plural, inWords } from "../components/states";

export function EmployerDashboard() {
  const state = usePageQuery(EmployerDashboardPage, { jobsFirst: 5, applicationsFirst: 3 });
  return (
    <PageBody state={state}>
      {(data, errors) => {
        const me = data.me;
        if (!me) return <Empty>Sign in to see your organizations.</Empty>;
        const organizations = me.recruiterAt?.edges ?? [];
        return (
          <section>
            <PartialDataNotice errors={errors} />
            <h1>Your organizations</h1>
            <p className="meta">
              Signed in as <span data-testid="display-name">{me.displayName}</span>
            </p>
            {organizations.length === 0 && <Empty>You do not recruit for an organization yet.</Empty>}
            {organizations.map(({ node: organization }) => (
              <article key={organization.id} className="panel" data-testid="organization" data-organization-id={organization.id}>
                <h2>
                  <Logo url={organization.logoUrl} name={organization.name} />
                  <span data-testid="organization-name">{organization.name}</span>
                  {organization.verified && <span className="badge">verified</span>}
                </h2>
                {organization.billing ? (
                  <p>
                    Plan {organization.billing.plan.name} ({inWords(organization.billing.status)}) ·{" "}
                    <span data-testid="job-credits">{organization.billing.jobCredits}</span> job credits ·{" "}
                    <Link href={`/checkout?organization=${organization.id}`} data-testid="buy-credits">
                      Buy credits
                    </Link>
                  </p>
                ) : (
                  <p className="notice">Billing is unavailable right now.</p>
                )}
                <h3>Open jobs</h3>
                {(organization.jobs?.edges.length ?? 0) === 0 ? (
                  <Empty>No open jobs.</Empty>
                ) : (
                  <ul data-testid="jobs">
                    {organization.jobs!.edges.map(({ node: job }) => (
                      <li key={job.id} data-testid="job">
                        <Link href={`/jobs/${job.id}`}>{job.title}</Link> · posted {date(job.postedAt)} ·{" "}
                        <span data-testid="application-count">{job.applicationCount}</span> {plural(job.applicationCount, "applicant")}
                        {job.applications.edges.length > 0 && (
                          <ul>
                            {job.applications.edges.map(({ node: application }) => (
                              <li key={application.id}>
                                {application.applicant.displayName} · {inWords(application.status)}
                              </li>
                            ))}
                          </ul>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
                <h3>Invoices</h3>
                {(organization.invoices?.edges.length ?? 0) === 0 ? (
                  <Empty>No invoices.</Empty>
                ) : (
                  <table data-testid="invoices">
                    <thead>
                      <tr>
                        <th scope="col">Number</th>
                        <th scope="col">Total</th>
                        <th scope="col">Status</th>
                        <th scope="col">Issued</th>
                      </tr>
                    </thead>
                    <tbody>
                      {organization.invoices!.edges.map(({ node: invoice }) => (
                        <tr key={invoice.id}>
                          <td>{invoice.number}</td>
                          <td>{money(invoice.totalCents, invoice.currency)}</td>
                          <td>{inWords(invoice.status)}</td>
                          <td>{date(invoice.issuedAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </article>
            ))}
          </section>
        );
      }}
    </PageBody>
  );
}
