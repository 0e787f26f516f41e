"""Unit tests of the title-enrich rules, run natively (no component):

    cd plugins/python/title-enrich && python3 -m unittest -v

plugins/python/build.sh runs them before building.
"""

import unittest

from rules import department, email_domain, enrich_lead, normalize_title, seniority


class Seniority(unittest.TestCase):
    def level(self, title):
        found = seniority(title)
        return found[0] if found else None

    def test_levels_from_common_titles(self):
        cases = {
            "Chief Executive Officer": "c-level",
            "Founder & CEO": "c-level",
            "Co-Founder": "c-level",
            "Geschäftsführer": "c-level",
            "Managing Director, EMEA": "c-level",
            "SVP Sales": "vp",
            "Sr. Vice President, Marketing": "vp",
            "Head of Growth": "vp",
            "Senior Director of Engineering": "director",
            "Sales Manager": "manager",
            "Team Lead Backend": "manager",
            "Senior Software Engineer": "senior",
            "Junior Accountant": "entry",
            "Marketing Intern": "intern",
            "Werkstudent Vertrieb": "intern",
        }
        for title, expected in cases.items():
            with self.subTest(title=title):
                self.assertEqual(self.level(title), expected)

    def test_vice_president_is_not_read_as_president(self):
        self.assertEqual(self.level("Vice-President Operations"), "vp")
        self.assertEqual(self.level("President"), "c-level")

    def test_support_roles_are_not_the_role_they_support(self):
        self.assertEqual(self.level("Assistant to the CEO"), "entry")
        self.assertEqual(self.level("Executive Assistant to the Founder"), "entry")
        self.assertEqual(self.level("Product Owner"), "manager")

    def test_words_inside_other_words_do_not_match(self):
        # "intern" in "International", "cto" in "Director", "vp" in nothing.
        self.assertEqual(self.level("International Sales Manager"), "manager")
        self.assertEqual(self.level("Director"), "director")
        self.assertIsNone(seniority("Accountant"))
        self.assertIsNone(seniority(""))

    def test_normalize_title(self):
        self.assertEqual(normalize_title("  Sr.  VP / Sales & Marketing "), "sr vp sales marketing")
        self.assertEqual(normalize_title("Vice President"), "vp")


class Department(unittest.TestCase):
    def test_departments(self):
        cases = {
            "VP Sales": "sales",
            "Chief Revenue Officer": "sales",
            "CMO": "marketing",
            "CTO": "engineering",
            "IT Director": "engineering",
            "CFO": "finance",
            "Head of People": "hr",
            "COO": "operations",
            "Founder & CEO": "executive",
            "Director of Customer Success": "customer-success",
        }
        for title, expected in cases.items():
            with self.subTest(title=title):
                self.assertEqual(department(title)[0], expected)

    def test_no_department(self):
        self.assertIsNone(department("Consultant"))


class EnrichLead(unittest.TestCase):
    def test_a_decision_maker_with_a_company_address(self):
        found = enrich_lead("Ada@Acme-Industries.com", "VP of Sales", "")
        self.assertEqual(found["domain"], "acme-industries.com")
        self.assertEqual(
            found["attributes"],
            {"seniority": "vp", "decision_maker": "true", "department": "sales"},
        )
        self.assertIn("seniority vp from 'vp'", found["notes"])

    def test_a_known_domain_is_left_alone(self):
        self.assertIsNone(enrich_lead("ada@acme.com", "CTO", "acme.io")["domain"])

    def test_a_free_mail_address_gives_no_domain(self):
        found = enrich_lead("jane.doe@gmail.com", "Marketing Intern", "")
        self.assertIsNone(found["domain"])
        self.assertEqual(found["attributes"]["decision_maker"], "false")
        self.assertTrue(any("free-mail" in note for note in found["notes"]))

    def test_decision_makers_are_configurable(self):
        found = enrich_lead("bo@acme.com", "Sales Manager", "acme.com", ("c-level", "manager"))
        self.assertEqual(found["attributes"]["decision_maker"], "true")

    def test_no_title_still_gives_the_domain(self):
        found = enrich_lead("bo@acme.com", "  ", "")
        self.assertEqual(found, {"domain": "acme.com", "attributes": {}, "notes": [
            "domain acme.com from the email address", "no title to read"]})

    def test_an_address_without_a_domain_is_an_error(self):
        for email in ["not-an-email", "@acme.com", "bo@localhost", "bo@ac me.com"]:
            with self.subTest(email=email):
                with self.assertRaises(ValueError) as raised:
                    enrich_lead(email, "CEO", "")
                self.assertIn(repr(email), str(raised.exception))

    def test_email_domain(self):
        self.assertEqual(email_domain(" bo@Sub.Acme.COM. "), "sub.acme.com")
        self.assertIsNone(email_domain("bo@"))


if __name__ == "__main__":
    unittest.main()
