// The app's operations: the committed documents, each bound to the result
// and variable types GraphQL Code Generator wrote for it. A page cannot
// pass variables its document does not declare or read a field it does not
// select; renaming a document or its operation breaks the build here.
import { committedOperations } from "virtual:talentgraph-operations";
import type * as Generated from "../generated/graphql";

export interface Operation<Result, Variables> {
  readonly name: string;
  readonly text: string;
  readonly sha256: string;
  /** Never set: carries the result and variable types. */
  readonly types?: { result: Result; variables: Variables };
}

function committed<Result, Variables>(name: string): Operation<Result, Variables> {
  const operation = committedOperations[name];
  if (!operation) {
    throw new Error(`pages/ and operations/ have no document named ${name}`);
  }
  return { name, text: operation.text, sha256: operation.sha256 };
}

export const JobSearchPage = committed<
  Generated.JobSearchPageQuery,
  Generated.JobSearchPageQueryVariables
>("JobSearchPage");
export const JobDetailPage = committed<
  Generated.JobDetailPageQuery,
  Generated.JobDetailPageQueryVariables
>("JobDetailPage");
export const JobseekerDashboardPage = committed<
  Generated.JobseekerDashboardPageQuery,
  Generated.JobseekerDashboardPageQueryVariables
>("JobseekerDashboardPage");
export const EmployerDashboardPage = committed<
  Generated.EmployerDashboardPageQuery,
  Generated.EmployerDashboardPageQueryVariables
>("EmployerDashboardPage");
export const InternshipBrowsePage = committed<
  Generated.InternshipBrowsePageQuery,
  Generated.InternshipBrowsePageQueryVariables
>("InternshipBrowsePage");
export const OrganizationPage = committed<
  Generated.OrganizationPageQuery,
  Generated.OrganizationPageQueryVariables
>("OrganizationPage");
export const CheckoutPage = committed<
  Generated.CheckoutPageMutation,
  Generated.CheckoutPageMutationVariables
>("CheckoutPage");
export const ApplyToJob = committed<
  Generated.ApplyToJobMutation,
  Generated.ApplyToJobMutationVariables
>("ApplyToJob");
export const InvoiceStatus = committed<
  Generated.InvoiceStatusQuery,
  Generated.InvoiceStatusQueryVariables
>("InvoiceStatus");
export const SignIn = committed<Generated.SignInMutation, Generated.SignInMutationVariables>(
  "SignIn",
);
export const SignOut = committed<Generated.SignOutMutation, Generated.SignOutMutationVariables>(
  "SignOut",
);
export const RefreshSession = committed<
  Generated.RefreshSessionMutation,
  Generated.RefreshSessionMutationVariables
>("RefreshSession");
