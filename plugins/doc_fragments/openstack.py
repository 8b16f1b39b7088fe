# -*- coding: utf-8 -*-

# Copyright: (c) 2026, portsec.openstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection and authentication options. The names, types and defaults are
    # those of openstack.cloud, so that one module_defaults block serves both.
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Named cloud or cloud config to operate against.
      - If O(cloud) is a string, it references a named cloud config as defined in an
        OpenStack C(clouds.yaml) file. Provides default values for O(auth) and O(auth_type).
        This parameter is not needed if O(auth) is provided or if OpenStack C(OS_*)
        environment variables are present.
      - If O(cloud) is a dict, it contains a complete cloud configuration like would be
        in a section of C(clouds.yaml). Its secrets (passwords, tokens, application
        credential secrets) are hidden from the module's output.
    type: raw
  auth:
    description:
      - Dictionary containing auth information as needed by the cloud's auth plugin
        strategy. For the default C(password) plugin, this would contain C(auth_url),
        C(username), C(password), C(project_name) and any information about domains
        (for example, C(user_domain_name) or C(project_domain_name)).
      - This parameter is not needed if a named cloud is provided or OpenStack C(OS_*)
        environment variables are present.
    type: dict
  auth_type:
    description:
      - Name of the auth plugin to use. If the cloud uses something other than password
        authentication, the name of the plugin should be indicated here and the contents
        of the O(auth) parameter should be updated accordingly.
    type: str
  region_name:
    description:
      - Name of the region.
    type: str
  wait:
    description:
      - Accepted for compatibility with openstack.cloud module defaults.
        Port updates in Neutron are synchronous, so the modules of this collection
        never need to wait.
    type: bool
    default: true
  timeout:
    description:
      - Accepted for compatibility with openstack.cloud module defaults.
        See O(api_timeout) for the time a single request may take.
    type: int
    default: 180
  api_timeout:
    description:
      - How long the socket layer waits, in seconds, before timing out an API call.
        If this is omitted, nothing is passed to the requests library.
    type: int
  validate_certs:
    description:
      - Whether or not SSL API requests should be verified.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - A path to a CA certificate bundle that can be used as part of verifying SSL API requests.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - A path to a client certificate to use as part of the SSL transaction.
    type: str
    aliases: [cert]
  client_key:
    description:
      - A path to a client key to use as part of the SSL transaction.
    type: str
    aliases: [key]
  interface:
    description:
      - Endpoint URL type to fetch from the service catalog.
    type: str
    choices: [admin, internal, public]
    default: public
    aliases: [endpoint_type]
  sdk_log_path:
    description:
      - Path to the log file of openstacksdk. If empty, no log is written.
    type: str
  sdk_log_level:
    description:
      - Log level of openstacksdk.
    type: str
    default: INFO
    choices: [INFO, DEBUG]
requirements:
  - python >= 3.9
  - openstacksdk >= 1.0.0
notes:
  - The standard OpenStack environment variables, such as E(OS_USERNAME) or E(OS_CLOUD),
    may be used instead of providing explicit values.
  - Auth information is driven by openstacksdk, which means that values can come from a
    C(clouds.yaml) file in C(/etc/openstack/clouds.yaml) or C(~/.config/openstack/clouds.yaml)
    (or the file named by E(OS_CLIENT_CONFIG_FILE)), then from standard environment variables,
    then finally by explicit parameters in plays.
"""

    # Attributes shared by the modules that change ports.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the predicted result, without writing to Neutron.
    support: full
  diff_mode:
    description: Returns details on what has changed (or would change in check mode), with security group names and address pairs.
    support: full
"""

    # Attributes of the read-only modules.
    ATTRIBUTES_INFO = r"""
attributes:
  check_mode:
    description: The module never changes anything, so it runs unchanged in check mode.
    support: full
  diff_mode:
    description: The module never changes anything, so there is no diff.
    support: none
"""
