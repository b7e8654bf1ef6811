"""An unknown user costs the same bcrypt work as a wrong password (no user
enumeration by timing, reference §10 #5), measured on the real daemon.

The statistic is the median of back-to-back pair ratios (``login_timing``),
which a busy machine moves little; an attempt outside the 20% bound is
measured again, up to ``ATTEMPTS`` times, so a stretch of heavy load cannot
flap the check.  A leak fails every attempt: without the bcrypt work an
unknown user is answered some 20 times faster.  The strict version (many
more pairs, a 10% bound) is the ``login_timing`` figure of ``python -m
benchmarks``.
"""

from tests.abuse.login_timing import auth_daemon, measure

PAIRS = 15
ATTEMPTS = 4
BOUND = 0.20


def test_unknown_user_and_wrong_password_take_the_same_time(tmp_path):
    with auth_daemon(tmp_path) as d:
        seen = []
        for _ in range(ATTEMPTS):
            sample = measure(d, PAIRS)
            seen.append(sample.describe())
            assert min(sample.wrong) > 0.01, "bcrypt-cost 10 must cost real time"
            if sample.within(BOUND):
                break
        else:
            raise AssertionError("unknown user vs wrong password:\n" + "\n".join(seen))
