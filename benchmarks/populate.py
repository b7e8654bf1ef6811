"""Write N users plus an admin straight into a fresh store (benchmark set-up).

    python benchmarks/populate.py DATA_DIR COUNT ADMIN_PASSWORD COST
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import bcrypt  # noqa: E402
from twisted.internet import reactor, task  # noqa: E402

from kapacitord_tw.auth.privileges import User, privileges_from_permissions  # noqa: E402
from kapacitord_tw.auth.userdb import NAMESPACE, user_to_record  # noqa: E402
from kapacitord_tw.service import STORE_FILE  # noqa: E402
from kapacitord_tw.storage import JournalStore  # noqa: E402


def main(data_dir, count, admin_password, cost):
    store = JournalStore.open(os.path.join(data_dir, STORE_FILE), reactor)
    admin = User(name="admin", admin=True, hash=bcrypt.hashpw(admin_password.encode(), bcrypt.gensalt(cost)))
    shared = bcrypt.hashpw(b"user-password", bcrypt.gensalt(4))
    privileges = privileges_from_permissions(["api"])
    store.put(NAMESPACE, "admin", user_to_record(admin))
    for i in range(count):
        user = User(name=f"user{i:06d}", admin=False, hash=shared, privileges=privileges)
        store.put(NAMESPACE, user.name, user_to_record(user))
    return store.close()


if __name__ == "__main__":
    data_dir, count, password, cost = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    task.react(lambda _r: main(data_dir, count, password, cost))
