"""The framework's ceiling: a bare twisted.web resource answering 204."""

import sys

from twisted.internet import reactor
from twisted.web import resource, server


class NoContent(resource.Resource):
    isLeaf = True

    def render(self, request):
        request.setResponseCode(204)
        return b""


site = server.Site(NoContent())
site.noisy = False
reactor.listenTCP(int(sys.argv[1]), site, interface="127.0.0.1")
reactor.run()
