# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""server_nics: port names to Nova's nics, one {"port-id": ID} per name, in the order given."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.portsec.openstack.plugins.filter.server_nics import FilterModule, server_nics

A = {'name': 'shop-a', 'id': 'id-a', 'network_id': 'net'}
A_DB = {'name': 'shop-a-db', 'id': 'id-a-db', 'network_id': 'db-net'}
B = {'name': 'shop-b', 'id': 'id-b', 'network_id': 'net'}


@pytest.mark.parametrize('names, ports, expected', [
    (['shop-a'], {'shop-a': A, 'shop-b': B}, [{'port-id': 'id-a'}]),
    (['shop-a', 'shop-a-db'], {'shop-a': A, 'shop-a-db': A_DB}, [{'port-id': 'id-a'}, {'port-id': 'id-a-db'}]),
    # the order of the names, not of the ports: the first is the primary interface
    (['shop-a-db', 'shop-a'], [A, A_DB, B], [{'port-id': 'id-a-db'}, {'port-id': 'id-a'}]),
    (['shop-b'], [A, B], [{'port-id': 'id-b'}]),
    ([], [A], []),
])
def test_server_nics(names, ports, expected):
    assert server_nics(names, ports) == expected


@pytest.mark.parametrize('names, ports, message', [
    (['shop-c'], [A, B], 'server_nics: no port named shop-c among the known ports (shop-a, shop-b)'),
    (['shop-a', 'x', 'y'], {'shop-a': A}, 'server_nics: no port named x, y among the known ports (shop-a)'),
    (['shop-a'], [], 'server_nics: no port named shop-a among the known ports (none)'),
])
def test_server_nics_names_the_missing_port(names, ports, message):
    with pytest.raises(AnsibleFilterError) as error:
        server_nics(names, ports)
    assert str(error.value) == message


def test_filter_name():
    assert FilterModule().filters() == {'server_nics': server_nics}
